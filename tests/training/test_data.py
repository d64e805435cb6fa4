"""The data builders: SFT chats, preference pairs, corpus, dedupe, PII, splits, card, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.conftest import EMAIL, PHONE, RETURN_ANSWER, export_records, record
from training_jobs.common.jsonl import DatasetError, read_jsonl, write_jsonl
from training_jobs.data.build import DataArguments, main
from training_jobs.data.builders import BuildOptions, build_datasets, question_groups, split_by_group
from training_jobs.data.dedupe import NearDuplicateIndex, deduplicate


def rows(directory: Path, name: str) -> list[dict]:
    return read_jsonl(directory / name / "train.jsonl") + read_jsonl(directory / name / "eval.jsonl")


def test_sft_keeps_one_of_exact_and_near_duplicates(datasets_dir: Path) -> None:
    sft = rows(datasets_dir, "sft")
    returns = [row for row in sft if row["messages"][0]["content"].startswith("How do I return")]
    assert len(returns) == 1
    assert returns[0]["messages"][1]["content"] == RETURN_ANSWER
    card = json.loads((datasets_dir / "dataset_card.json").read_text())
    assert card["sft"]["exact_duplicates"] >= 1
    assert card["sft"]["near_duplicates"] >= 1


def test_sft_learns_from_thumbs_up_and_human_answers_only(datasets_dir: Path) -> None:
    answers = {row["messages"][1]["content"] for row in rows(datasets_dir, "sft")}
    assert "Yes, PayPal works at checkout." in answers  # thumbs up
    assert any(answer.startswith("It ships tomorrow") for answer in answers)  # a human agent's answer
    assert "We are open 9 to 5." not in answers  # unrated
    assert "We only accept cash." not in answers  # rephrased
    assert "An answer to nothing." not in answers  # no question


def test_no_pii_reaches_any_set(datasets_dir: Path) -> None:
    text = "".join(path.read_text() for path in datasets_dir.rglob("*.jsonl"))
    assert EMAIL not in text
    assert PHONE not in text
    assert "[EMAIL_1]" in text
    assert "[PHONE_1]" in text


def test_pairs_join_bad_answers_with_good_ones_to_the_same_question(datasets_dir: Path) -> None:
    pairs = {row["prompt"][0]["content"]: row for row in rows(datasets_dir, "preference")}
    escalated = pairs["My email is [EMAIL_1], where is my order?"]
    assert escalated["chosen"][0]["content"].startswith("It ships tomorrow")  # the human agent's reply
    assert escalated["rejected"] == [{"role": "assistant", "content": "It ships at some point."}]
    rephrased = pairs["Can I pay with PayPal?"]
    assert rephrased["chosen"][0]["content"] == "Yes, PayPal works at checkout."  # the next turn's answer
    assert rephrased["rejected"][0]["content"] == "We only accept cash."
    assert pairs["When will my order arrive?"]["rejected"][0]["content"] == "Soon."
    assert "Do you sell bicycles?" not in pairs  # nothing good to prefer
    assert all(row["prompt"][0]["role"] == "user" for row in pairs.values())


def test_splits_are_deterministic_and_keep_question_groups_apart(datasets_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    write_jsonl(export, export_records())
    main(DataArguments(export_path=str(export), output_dir=str(tmp_path / "again"), eval_fraction=0.25))
    for name in ("sft", "preference", "corpus"):
        for split in ("train", "eval"):
            assert (tmp_path / "again" / name / f"{split}.jsonl").read_text() == (
                datasets_dir / name / f"{split}.jsonl"
            ).read_text()
    train = {row["messages"][0]["content"] for row in read_jsonl(datasets_dir / "sft" / "train.jsonl")}
    held_out = {row["messages"][0]["content"] for row in read_jsonl(datasets_dir / "sft" / "eval.jsonl")}
    assert train and held_out
    assert not train & held_out


def test_card_counts_add_up(datasets_dir: Path) -> None:
    card = json.loads((datasets_dir / "dataset_card.json").read_text())
    assert card["records"] == len(export_records())
    assert card["records_without_question_or_answer"] == 1
    assert card["pii_redacted_fields"] >= 2
    for name in ("sft", "preference", "corpus"):
        counts = card[name]
        kept = counts["candidates"] - counts["exact_duplicates"] - counts["near_duplicates"]
        assert counts["train"] + counts["eval"] == kept == len(rows(datasets_dir, name))
    assert "| sft |" in (datasets_dir / "dataset_card.md").read_text()


def test_corpus_holds_knowledge_base_documents(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "returns.md").write_text(f"# Returns\n\nWrite to {EMAIL} to return an item within 30 days.\n")
    export = tmp_path / "export.jsonl"
    write_jsonl(export, export_records())
    main(DataArguments(export_path=str(export), kb_dir=str(kb), output_dir=str(tmp_path / "out")))
    texts = [row["text"] for row in rows(tmp_path / "out", "corpus")]
    assert "# Returns\n\nWrite to [EMAIL_1] to return an item within 30 days.\n" in texts


def test_near_duplicate_index_tells_near_from_unrelated() -> None:
    index = NearDuplicateIndex(threshold=0.8)
    index.add("a", "Start a return from Orders within 30 days; we email you a prepaid label.")
    near = index.find("Start a return from Orders within 30 days; we email you a prepaid label!")
    assert near is not None and near.key == "a" and not near.exact
    exact = index.find("start a return from orders within 30 days;  we email you a prepaid label.")
    assert exact is not None and exact.exact
    assert index.find("Standard shipping takes 3 to 5 business days.") is None


def test_deduplicate_counts_what_it_drops() -> None:
    texts = ["alpha beta gamma delta epsilon", "alpha beta gamma delta epsilon", "something else entirely"]
    kept, counts = deduplicate(texts, lambda text: text, threshold=0.9)
    assert kept == ["alpha beta gamma delta epsilon", "something else entirely"]
    assert (counts.exact, counts.near) == (1, 0)


def test_rephrased_question_joins_the_group_of_the_next_turn() -> None:
    records = [
        record("c", 0, "Can I pay with PayPal?", "No.", rephrased=True),
        record("c", 1, "Is PayPal accepted as a payment method?", "Yes.", rating="up"),
        record("d", 0, "Where is my parcel?", "On its way.", rating="up"),
    ]
    groups = question_groups(records, threshold=0.6)
    assert groups[0] == groups[1] != groups[2]


def test_split_puts_something_on_each_side_of_two_groups() -> None:
    train, held_out = split_by_group([("a", "g1"), ("b", "g1"), ("c", "g2")], eval_fraction=0.1, seed=0)
    assert train and held_out
    assert {item for item in held_out} in ({"a", "b"}, {"c"})


def test_an_export_with_only_thumbs_up_builds_no_pairs() -> None:
    built = build_datasets([record("c", 0, "Hi?", "Hello.", rating="up")], [], BuildOptions())
    assert built.preference == {"train": [], "eval": []}
    assert built.card["sft"]["train"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no records"),
        ('{"question": "Hi?"}\n', "record 1 lacks a text 'question' or 'answer'"),
        ('{"question": "Hi?", "answer": "Hello."}\nnot json\n', ":2: not valid JSON"),
    ],
)
def test_bad_exports_fail_fast_with_the_reason(tmp_path: Path, content: str, message: str) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text(content)
    with pytest.raises(DatasetError, match=message):
        main(DataArguments(export_path=str(export), output_dir=str(tmp_path / "out")))


def test_an_export_folder_without_files_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"holds no \.jsonl files"):
        main(DataArguments(export_path=str(tmp_path), output_dir=str(tmp_path / "out")))
