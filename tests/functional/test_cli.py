"""The genai-stack command: exit codes and messages users see."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from functions.cli import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, build_parser, main
from functions.services import Services
from tests.conftest import MINI_KB
from tests.fakes import HashingEmbedder


@pytest.fixture(autouse=True)
def hashing_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = HashingEmbedder()
    monkeypatch.setattr(Services, "embedder", property(lambda self: embedder))
    monkeypatch.setenv("GENAI_STACK_MIN_RELEVANCE", "0.2")
    # main() switches metrics off outside `serve`; the switch must not outlive the test
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", [[], ["ingest"], ["serve"], ["ask"], ["chat"], ["stats"], ["eval"]])
def test_every_subcommand_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: genai-stack" in capsys.readouterr().out


def test_ingest_then_ask_then_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    code, out, _ = run(capsys, "ingest", str(MINI_KB), "--data-dir", data, "--quiet")
    assert code == EXIT_OK and out.startswith("5 added, 0 updated, 0 unchanged, 0 removed; 11 chunks indexed")

    code, out, _ = run(capsys, "ask", "How long is the warranty on tents?", "--data-dir", data, "--json")
    answer = json.loads(out)
    assert code == EXIT_OK and answer["sources"][0]["source"] == "mini_kb/warranty.txt"

    code, out, _ = run(capsys, "stats", "--data-dir", data, "--json")
    stats = json.loads(out)
    assert code == EXIT_OK and (stats["chunks"], stats["sources"], stats["messages"]) == (11, 5, 1)


def test_ask_without_a_data_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ask", "hello?", "--data-dir", str(tmp_path / "missing"))
    assert code == EXIT_USAGE and "does not exist: run `genai-stack ingest PATH" in err
    assert not (tmp_path / "missing").exists()


def test_ask_with_an_empty_data_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ask", "hello?", "--data-dir", str(tmp_path))
    assert code == EXIT_USAGE and "is empty" in err


def test_ask_with_an_empty_question(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "ingest", str(MINI_KB), "--data-dir", str(tmp_path), "--quiet")
    code, _, err = run(capsys, "ask", "  ", "--data-dir", str(tmp_path))
    assert code == EXIT_USAGE and "question must not be empty" in err


def test_ingest_of_a_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ingest", str(tmp_path / "nope"), "--data-dir", str(tmp_path))
    assert code == EXIT_USAGE and "no such file or directory" in err


def test_ingest_with_a_broken_file_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "faq.json").write_text("{not json")
    code, _, err = run(
        capsys, "ingest", str(tmp_path / "faq.json"), "--data-dir", str(tmp_path / "d"), "--quiet"
    )
    assert code == EXIT_PARTIAL and "failed: faq.json: " in err and "invalid JSON" in err


def test_invalid_configuration_names_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENAI_STACK_TOP_K", "zero")
    code, _, err = run(capsys, "ask", "hi", "--data-dir", str(tmp_path))
    assert code == EXIT_USAGE and "invalid configuration: top_k" in err


def test_eval_output_is_the_report_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    run(capsys, "ingest", str(MINI_KB), "--data-dir", data, "--quiet")
    question = {"question": "How long is the warranty on tents?", "doc": "warranty.txt", "kind": "direct"}
    questions = tmp_path / "questions.jsonl"  # enough for Powertools to flush 100 metric values
    questions.write_text("".join(json.dumps({"id": f"q{n}", **question}) + "\n" for n in range(120)))
    code, out, _ = run(capsys, "eval", "--data-dir", data, "--questions", str(questions))
    assert code == EXIT_OK and json.loads(out)["questions"] == 120


def test_ask_continues_a_conversation_and_resolves_the_follow_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    run(capsys, "ingest", str(MINI_KB), "--data-dir", data, "--quiet")
    code, out, _ = run(capsys, "ask", "How long is the warranty on tents?", "--data-dir", data, "--json")
    conversation = json.loads(out)["conversation_id"]

    code, out, _ = run(
        capsys, "ask", "And what about jackets?", "--data-dir", data, "--conversation", conversation
    )
    assert code == EXIT_OK
    assert out.startswith("(read as: How long is the warranty on tents (jackets)?)\n")
    assert "2 years" in out and f"(conversation {conversation}" in out


def typed(*lines: str) -> Callable[[str], str]:
    """A stand-in for input(): the lines in turn, then Ctrl-D (EOFError)."""
    remaining = iter(lines)

    def read(prompt: str = "") -> str:
        line = next(remaining, None)
        if line is None:
            raise EOFError
        return line

    return read


def test_chat_is_one_conversation_until_an_empty_line_or_ctrl_d(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = str(tmp_path / "data")
    run(capsys, "ingest", str(MINI_KB), "--data-dir", data, "--quiet")
    monkeypatch.setattr("builtins.input", typed("How long is the warranty on tents?", "  ", "never asked"))
    code, out, _ = run(capsys, "chat", "--data-dir", data)
    assert code == EXIT_OK and "5 year warranty" in out and "never asked" not in out
    conversation = out.rsplit("(conversation ", 1)[1].rstrip(")\n")

    monkeypatch.setattr("builtins.input", typed("and jackets?"))
    code, out, _ = run(capsys, "chat", "--data-dir", data, "--conversation", conversation)
    assert code == EXIT_OK and "(read as: How long is the warranty on tents (jackets)?)" in out
