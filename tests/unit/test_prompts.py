"""The prompt library: each variant's template renders with and without examples, the examples
are chosen per question, and the A/B split is stable per conversation."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from functions.rag.documents import Chunk, ScoredChunk
from functions.rag.examples import curated_examples
from functions.rag.prompts import (
    TEMPLATES_DIR,
    PromptLibrary,
    check_variants,
    parse_prompt,
    split_variant,
    system_prompts,
    variants,
)
from functions.rag.replies import parse_reply
from functions.settings import Settings
from tests.fakes import HashingEmbedder

HIT = ScoredChunk(
    Chunk("c1", "Express delivery to Canada costs CA$24.95.", "kb/shipping.md", "Shipping"), 1.0, 0.8
)
QUESTION = "How much is express shipping to Canada?"


def test_the_shipped_variants_are_zero_one_and_few_shot_over_a_template_file() -> None:
    assert {name: variant.examples for name, variant in variants().items()} == {
        "zero-shot": 0,
        "one-shot": 1,
        "few-shot": 3,
    }
    for variant in variants().values():
        assert (TEMPLATES_DIR / f"{variant.template.name}.toml").is_file()


@pytest.mark.parametrize("name", sorted(variants()))
def test_each_variant_renders_the_sources_and_the_question_last(name: str) -> None:
    messages = PromptLibrary(HashingEmbedder()).messages(name, [HIT], QUESTION)
    shots = variants()[name].examples
    assert [m.type for m in messages] == ["system", *["human", "ai"] * shots, "human"]
    system = messages[0].text
    assert "Northwind Outfitters" in system and '"answerable"' in system and "{{" not in system
    sources, question = parse_prompt(messages[-1].text)
    assert question == QUESTION and [(s.number, s.title, s.text) for s in sources] == [
        (1, "Shipping", HIT.chunk.text)
    ]


def test_examples_render_as_a_question_with_its_sources_and_a_structured_reply() -> None:
    messages = PromptLibrary(HashingEmbedder()).messages("few-shot", [HIT], QUESTION)
    for human, ai in zip(messages[1:-1:2], messages[2:-1:2], strict=True):
        sources, question = parse_prompt(human.text)
        assert sources and question
        reply = parse_reply(ai.text)
        assert set(reply.citations) <= {source.number for source in sources}
        assert reply.answerable == bool(reply.answer)


def test_the_examples_are_the_ones_most_like_the_question() -> None:
    library = PromptLibrary(HashingEmbedder())
    for example in curated_examples():
        messages = library.messages("one-shot", [HIT], example["question"])
        assert parse_prompt(messages[1].text)[1] == example["question"]  # its own example first


def test_a_few_shot_variant_needs_an_embedder() -> None:
    with pytest.raises(ValueError, match="chooses examples with an embedder"):
        PromptLibrary().messages("few-shot", [HIT], QUESTION)


def test_the_leak_guardrail_knows_every_system_prompt_as_sent() -> None:
    assert system_prompts() == tuple(dict.fromkeys(v.template.system_text for v in variants().values()))
    assert all("{{" not in prompt for prompt in system_prompts())


def test_the_split_gives_a_conversation_one_variant_on_every_turn() -> None:
    split = {"zero-shot": 1.0, "few-shot": 1.0}
    library = PromptLibrary(HashingEmbedder(), split=split)
    conversations = [uuid.uuid4().hex for _ in range(400)]
    first = {c: library.choose(c) for c in conversations}
    assert all(library.choose(c) == first[c] for c in conversations)
    # the same on another process (a hash, not Python's salted hash()) and whatever the order
    assert all(split_variant(c, {"few-shot": 1.0, "zero-shot": 1.0}) == first[c] for c in conversations)
    counts = Counter(first.values())
    assert set(counts) == {"zero-shot", "few-shot"} and min(counts.values()) > 150


def test_the_split_follows_the_weights() -> None:
    picks = Counter(split_variant(uuid.uuid4().hex, {"zero-shot": 9, "one-shot": 1}) for _ in range(1000))
    assert 820 <= picks["zero-shot"] <= 980 and picks["one-shot"] > 0
    assert {split_variant(uuid.uuid4().hex, {"zero-shot": 0, "one-shot": 1}) for _ in range(50)} == {
        "one-shot"
    }


def test_without_a_split_every_conversation_gets_the_variant() -> None:
    library = PromptLibrary(HashingEmbedder(), "one-shot")
    assert {library.choose(uuid.uuid4().hex) for _ in range(20)} == {"one-shot"}


@pytest.mark.parametrize(
    ("variant", "split", "problem"),
    [
        ("two-shot", {}, "unknown prompt variants \\['two-shot'\\]"),
        ("zero-shot", {"zero-shot": 1, "ten-shot": 1}, "unknown prompt variants \\['ten-shot'\\]"),
        ("zero-shot", {"zero-shot": -1, "few-shot": 2}, "weights must be at least 0"),
        ("zero-shot", {"zero-shot": 0}, "add up to more than 0"),
    ],
)
def test_a_bad_variant_or_split_is_refused_at_start_up(
    tmp_path: Path, variant: str, split: dict[str, float], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        check_variants(variant, split)
    with pytest.raises(ValidationError, match="GENAI_STACK_PROMPT_VARIANT or GENAI_STACK_PROMPT_SPLIT"):
        Settings(data_dir=tmp_path, prompt_variant=variant, prompt_split=split)


def test_the_split_is_read_from_the_environment_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENAI_STACK_PROMPT_SPLIT", '{"zero-shot": 0.5, "few-shot": 0.5}')
    assert Settings(data_dir=tmp_path).prompt_split == {"zero-shot": 0.5, "few-shot": 0.5}
