import pytest
from pydantic import ValidationError

from functions.settings import Settings


def test_defaults_are_the_embedded_adapters() -> None:
    settings = Settings()
    assert (settings.vector_store, settings.embedder, settings.chat_model, settings.store) == (
        "embedded",
        "local",
        "extractive",
        "sqlite",
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"top_k": 0}, "top_k"),
        ({"chunk_overlap": 900, "chunk_size": 800}, "chunk_overlap must be smaller"),
        ({"vector_store": "opensearch"}, "GENAI_STACK_OPENSEARCH_ENDPOINT"),
        ({"store": "dynamodb"}, "GENAI_STACK_CONVERSATIONS_TABLE, GENAI_STACK_FEEDBACK_TABLE"),
        ({"chat_model": "local-checkpoint"}, "GENAI_STACK_CHECKPOINT_DIR"),
        ({"vector_store": "elastic"}, "vector_store"),
        ({"cognito_issuer": "https://cognito-idp.eu-west-1.amazonaws.com/p"}, "set together"),
        ({"guest_tokens": 0}, "guest_tokens"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)  # type: ignore[arg-type]


def test_environment_lists_parse_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENAI_STACK_PII_ALLOWLIST", '["@northwind.example", "+1 555 0100"]')
    assert Settings().pii_allowlist == ("@northwind.example", "+1 555 0100")
