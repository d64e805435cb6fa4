"""Shared fixtures: settings in a temporary data directory, a small knowledge base indexed with
the hashing embedder, and services and an API client over it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from functions.api.app import all_routers, create_app
from functions.services import Services
from functions.settings import Settings
from tests.fakes import HashingEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "GenAiStackTests")

FIXTURES = Path(__file__).parent / "fixtures"
MINI_KB = FIXTURES / "mini_kb"
SAMPLE_KB = Path(__file__).parent.parent / "data" / "sample_kb"
SUPPORT_DOMAIN = "@northwind.example"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for the hashing embedder, whose cosine scores run lower than MiniLM's."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "min_relevance": 0.2,
        "pii_allowlist": (SUPPORT_DOMAIN,),
        # The packaged intent model reads MiniLM vectors, not the hashing embedder's.
        "intent_tagging": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_services(settings: Settings) -> Services:
    services = Services(settings)
    services.embedder = HashingEmbedder()  # type: ignore[misc]
    return services


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """Services over the mini knowledge base, indexed in a fresh data directory."""
    services = make_services(make_settings(tmp_path / "data"))
    services.ingestor.ingest_paths([MINI_KB])
    yield services
    if "sqlite" in services.__dict__:
        services.sqlite.close()


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(all_routers(), services), raise_server_exceptions=False)
