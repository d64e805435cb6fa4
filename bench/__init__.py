"""Benchmarks of genai-stack, each beside a baseline measured in the same run (`make bench`).

One module per section (retrieval, latency, cold_start, ingestion, load); `bench.run` runs the
selected ones and writes `docs/BENCHMARKS.md` with plots under `docs/bench/`.
"""
