"""Load: `genai-stack serve` on loopback under locust (headless, bounded time), then the SQLite
database is counted to check that no answered message, rating or escalation was lost.

The server and the load generator share this machine's cores, so the throughput is a floor.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    LABELLED_SETS,
    PUBLIC_VALUES,
    REPO_ROOT,
    SAMPLE_KB,
    Options,
    markdown_table,
    new_figure,
    progress,
    save_figure,
)
from functions.settings import Settings

BIN = Path(sys.executable).parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
QUESTIONS = next(iter(LABELLED_SETS.values()))
STARTUP_TIMEOUT_S = 180
#: Users finish the request they are in when the time is up, so that locust counts every request
#: the server handled and the database can be compared with its counts exactly.
STOP_TIMEOUT_S = 30
#: Request names of the locust users (bench/locustfile.py), as they appear in locust's statistics.
QUERY, FEEDBACK, ESCALATION = "POST /v1/query", "POST /v1/feedback", "POST /v1/feedback (escalate)"


@dataclass(frozen=True)
class Endpoint:
    """Locust's final figures for one request name (response times in ms, rounded by locust)."""

    requests: int
    failures: int
    rps: float
    p50_ms: float
    p99_ms: float

    @property
    def succeeded(self) -> int:
        return self.requests - self.failures


def read_summary(path: Path) -> dict[str, Endpoint]:
    """Request name (or "Aggregated") -> its figures, from the locustfile's summary."""
    return {
        name: Endpoint(**figures) for name, figures in json.loads(path.read_text(encoding="utf-8")).items()
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"genai-stack serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise TimeoutError(f"the server at {url} did not answer /health within {STARTUP_TIMEOUT_S} s")


def _count_rows(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("messages", "feedback", "escalations")
        }


def _first_query_ms(url: str) -> float:
    """One query before the load: the first one loads what the server loads lazily (the prompt stack)."""
    body = json.dumps({"question": "How long do I have to return an item?"}).encode()
    request = urllib.request.Request(
        f"{url}/v1/query", data=body, headers={"content-type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60):
        return (time.perf_counter() - started) * 1000.0


def _drive(options: Options, folder: Path, prefix: Path) -> tuple[dict[str, int], float]:
    """Ingest, serve, query once, run locust, stop the server; the row counts of its database and
    the first query's milliseconds."""
    data_dir = folder / "data"
    ingest = [str(BIN / "genai-stack"), "ingest", str(SAMPLE_KB), "--data-dir", str(data_dir)]
    subprocess.run(
        [*ingest, "--pii-allow-file", str(PUBLIC_VALUES), "--quiet"], check=True, capture_output=True
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [
        str(BIN / "genai-stack"),
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--quiet-metrics",
    ]
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen(serve, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_healthy(url, server)
            first_query_ms = _first_query_ms(url)
            progress(f"load: {options.load_users} users for {options.load_seconds} s against {url}")
            locust = [
                str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", url,
                "--users", str(options.load_users), "--spawn-rate", str(options.load_users),
                "--run-time", f"{options.load_seconds}s", "--csv", str(prefix), "--only-summary",
                "--stop-timeout", str(STOP_TIMEOUT_S), "--loglevel", "WARNING",
            ]  # fmt: skip
            environment = {
                **os.environ,
                "BENCH_QUESTIONS": str(QUESTIONS),
                "BENCH_SUMMARY": str(folder / "summary.json"),
                "PYTHONPATH": str(REPO_ROOT),
            }
            with (folder / "locust.log").open("wb") as locust_log:
                subprocess.run(
                    locust,
                    env=environment,
                    cwd=REPO_ROOT,
                    stdout=locust_log,
                    stderr=subprocess.STDOUT,
                    check=False,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return _count_rows(Settings(data_dir=data_dir).database_path), first_query_ms


def run(options: Options) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        prefix = folder / "locust"
        rows, first_query_ms = _drive(options, folder, prefix)
        summary = folder / "summary.json"
        if not summary.is_file():
            raise RuntimeError(f"locust wrote no summary:\n{(folder / 'locust.log').read_text()[-2000:]}")
        stats = read_summary(summary)
        history = Path(f"{prefix}_stats_history.csv")
        _plot(options, history)
    total = stats["Aggregated"]
    none = Endpoint(0, 0, 0.0, 0.0, 0.0)
    query, feedback, escalation = (stats.get(name, none) for name in (QUERY, FEEDBACK, ESCALATION))
    checks = [
        (
            "answered queries stored as messages (plus the warm-up query)",
            query.succeeded + 1,
            rows["messages"],
        ),
        ("accepted ratings stored", feedback.succeeded + escalation.succeeded, rows["feedback"]),
        ("accepted escalations stored as tickets", escalation.succeeded, rows["escalations"]),
    ]
    table = markdown_table(
        ["requests", "count", "errors", "req/s", "p50 ms", "p99 ms"],
        [
            (name, f"{e.requests:,}", e.failures, f"{e.rps:.1f}", f"{e.p50_ms:.0f}", f"{e.p99_ms:.0f}")
            for name, e in (
                ("POST /v1/query", query),
                ("POST /v1/feedback", feedback),
                ("POST /v1/feedback, escalating", escalation),
                ("**all**", total),
            )
        ],
    )
    lost_table = markdown_table(
        ["record", "accepted by the API", "rows in SQLite", "lost"],
        [(name, accepted, stored, accepted - stored) for name, accepted, stored in checks],
    )
    verdict = "no errors" if total.failures == 0 else f"**{total.failures} errors**"
    mismatched = [name for name, accepted, stored in checks if accepted != stored]
    verdict += (
        "; every accepted record is in the database"
        if not mismatched
        else f"; **mismatch: {', '.join(mismatched)}**"
    )
    return (
        f"`genai-stack serve` (one uvicorn process) over the sample knowledge base on loopback; locust "
        f"{options.load_users} users, all started at once, for {options.load_seconds} s, no think time, each "
        "asking labelled questions (`tests/fixtures/questions.jsonl`, unanswerable ones included) and rating "
        "one answer in four, one rating in ten escalating to a human. One query went first, alone: it took "
        f"{first_query_ms:.0f} ms, loading what the server loads on first use. Locust rounds response times "
        "above 100 ms to 10 ms.\n\n"
        f"{table}\n\n{lost_table}\n\nResult: {verdict}.\n\n"
        + options.plot_link("load.png", "requests per second and response times during the load test")
    )


def _plot(options: Options, history: Path) -> None:
    """Requests per second and the response-time percentiles locust reports each second."""
    with history.open(newline="") as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if row["Name"] == "Aggregated" and row["50%"] not in ("", "N/A")
        ]
    start = int(rows[0]["Timestamp"]) if rows else 0
    seconds = [int(row["Timestamp"]) - start for row in rows]
    figure = new_figure(7.0, 5.0)
    throughput, latency = figure.subplots(2, 1, sharex=True)
    throughput.plot(seconds, [float(row["Requests/s"]) for row in rows], color="tab:blue")
    throughput.set(ylabel="requests/s", title="Load on genai-stack serve")
    latency.plot(seconds, [float(row["50%"]) for row in rows], color="tab:green", label="p50")
    latency.plot(seconds, [float(row["99%"]) for row in rows], color="tab:red", linestyle="--", label="p99")
    latency.set(xlabel="seconds", ylabel="ms")
    latency.legend()
    for axes in (throughput, latency):
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
    save_figure(figure, options, "load.png")
