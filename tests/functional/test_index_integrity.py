"""The embedded index cannot be silently wrong: each version carries a manifest written last,
checked when the version is opened; a damaged version is refused, the last good one is served
where there is one, and /health says which."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from functions.api.app import all_routers, create_app
from functions.cli import main
from functions.rag.stores import embedded as embedded_store
from functions.services import Services
from tests.conftest import MINI_KB, make_services, make_settings

QUESTION = {"question": "How many days do I have to return unworn items?"}


def shuffle_chunks(version: Path) -> None:
    lines = (version / "chunks.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (version / "chunks.jsonl").write_text("".join(reversed(lines)), encoding="utf-8")


def truncate_chunks(version: Path) -> None:
    lines = (version / "chunks.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (version / "chunks.jsonl").write_text("".join(lines[:-1]), encoding="utf-8")


def empty_chunks(version: Path) -> None:
    (version / "chunks.jsonl").write_bytes(b"")


def empty_vectors(version: Path) -> None:
    (version / "vectors.npy").write_bytes(b"")


def garble_current(version: Path) -> None:
    (version.parent / "CURRENT").write_bytes(b"\xff\xfev000002\n")


CORRUPTIONS: list[Callable[[Path], None]] = [
    shuffle_chunks,
    truncate_chunks,
    empty_chunks,
    empty_vectors,
    garble_current,
]


def damage(index: Path, corrupt: Callable[[Path], None]) -> None:
    """Corrupt the live version in place and touch CURRENT, so a running server reloads it."""
    corrupt(index / (index / "CURRENT").read_bytes().decode("utf-8", "replace").strip()[-7:])
    later = (index / "CURRENT").stat().st_mtime_ns + 1_000_000_000
    os.utime(index / "CURRENT", ns=(later, later))


def client_for(services: Services) -> TestClient:
    return TestClient(create_app(all_routers(), services), raise_server_exceptions=False)


@pytest.fixture
def two_versions(tmp_path: Path) -> Services:
    """A data directory whose index has a good previous version (v000001) and a live one."""
    kb = tmp_path / "mini_kb"
    shutil.copytree(MINI_KB, kb)
    services = make_services(make_settings(tmp_path / "data"))
    services.ingestor.ingest_paths([kb])
    (kb / "warranty.txt").write_text("Tents carry a two-year warranty.\n", encoding="utf-8")
    services.ingestor.ingest_paths([kb])
    assert (services.settings.index_dir / "CURRENT").read_text() == "v000002"
    return services


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
def test_a_running_server_keeps_its_good_version(
    two_versions: Services, corrupt: Callable[[Path], None]
) -> None:
    client = client_for(two_versions)
    expected = client.post("/v1/query", json=QUESTION).json()["sources"]
    damage(two_versions.settings.index_dir, corrupt)

    health = client.get("/health").json()
    assert health["status"] == "degraded" and health["index"]["version"] == "v000002"
    assert not health["index"]["healthy"] and "re-ingest" in health["index"]["problem"]
    response = client.post("/v1/query", json=QUESTION)
    assert response.status_code == 200 and response.json()["sources"] == expected


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
def test_a_fresh_server_falls_back_to_the_last_good_version(
    two_versions: Services, corrupt: Callable[[Path], None]
) -> None:
    damage(two_versions.settings.index_dir, corrupt)
    client = client_for(make_services(two_versions.settings))
    health = client.get("/health").json()
    expected_version = "v000002" if corrupt is garble_current else "v000001"
    assert (health["status"], health["index"]["version"]) == ("degraded", expected_version)
    response = client.post("/v1/query", json=QUESTION)
    assert response.status_code == 200 and response.json()["sources"][0]["source"] == "mini_kb/returns.md"


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
def test_with_no_good_version_the_index_is_a_clear_503(
    services: Services, corrupt: Callable[[Path], None], capsys: pytest.CaptureFixture[str]
) -> None:
    index = services.settings.index_dir
    damage(index, corrupt)
    if corrupt is garble_current:  # the one version is fine; only the pointer is broken
        shutil.rmtree(index / "v000001")
    client = client_for(make_services(services.settings))

    response = client.post("/v1/query", json=QUESTION)
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (503, "dependency_unavailable")
    assert "re-ingest" in error["message"] and str(services.settings.data_dir.parent) not in response.text
    assert client.post("/v1/retrieve", json={"query": "returns"}).status_code == 503
    health = client.get("/health")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"

    assert main(["serve", "--data-dir", str(services.settings.data_dir)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("genai-stack: error: ") and "re-ingest" in stderr and "Traceback" not in stderr


def test_an_ingest_repairs_a_damaged_index(services: Services) -> None:
    damage(services.settings.index_dir, shuffle_chunks)
    repaired = make_services(services.settings)
    repaired.ingestor.ingest_paths([MINI_KB])
    client = client_for(repaired)
    assert client.get("/health").json()["index"] == {"version": "v000002", "healthy": True, "problem": None}
    assert client.post("/v1/query", json=QUESTION).json()["sources"][0]["source"] == "mini_kb/returns.md"


def test_each_version_is_hashed_once_not_per_query(
    two_versions: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[Path] = []
    digests = embedded_store._file_digests
    monkeypatch.setattr(
        embedded_store, "_file_digests", lambda folder: hashed.append(folder) or digests(folder)
    )
    client = client_for(make_services(two_versions.settings))
    for _ in range(5):
        assert client.post("/v1/query", json=QUESTION).status_code == 200
    assert [folder.name for folder in hashed] == ["v000002"]


def test_the_manifest_lists_every_file_and_the_chunk_count(services: Services) -> None:
    version = services.settings.index_dir / "v000001"
    manifest = json.loads((version / "manifest.json").read_text())
    files = {p.relative_to(version).as_posix() for p in version.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == files and {"vectors.npy", "chunks.jsonl", "meta.json"} <= files
    assert manifest["chunks"] == services.vector_store.count()
    assert manifest["files"]["vectors.npy"]["bytes"] == (version / "vectors.npy").stat().st_size
