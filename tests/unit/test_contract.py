"""The names the CDK stack sets must be the names the runtime reads."""

import pytest

from functions.contract import ENV_PREFIX, EnvVar, knn_index_body
from functions.settings import Settings


def test_every_environment_variable_is_a_settings_field() -> None:
    fields = set(Settings.model_fields)
    for variable in EnvVar:
        assert variable.value.startswith(ENV_PREFIX)
        assert variable.value.removeprefix(ENV_PREFIX).lower() in fields, variable


def test_settings_read_the_contract_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}TOP_K", "7")
    monkeypatch.setenv(EnvVar.FEEDBACK_TABLE, "feedback-table")
    settings = Settings()
    assert settings.top_k == 7
    assert settings.feedback_table == "feedback-table"


def test_index_mapping_carries_the_configured_vector_method() -> None:
    body = knn_index_body(256, engine="lucene", space_type="cosinesimil", m=32, ef_construction=256)
    vector = body["mappings"]["properties"]["embedding"]
    assert vector["dimension"] == 256
    assert vector["method"] == {
        "name": "hnsw",
        "engine": "lucene",
        "space_type": "cosinesimil",
        "parameters": {"m": 32, "ef_construction": 256},
    }
    assert body["settings"]["index"]["knn"] is True
    assert body["mappings"]["properties"]["text"]["type"] == "text"
