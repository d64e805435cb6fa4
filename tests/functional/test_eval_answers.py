"""`genai-stack eval answers` over the mini knowledge base (hashing embedder): the figures, that
they repeat exactly, bad lines named, citations checked, and two configurations compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from functions.cli import EXIT_OK, EXIT_USAGE, main
from functions.evaluation_answers import QAItem, evaluate_answers
from functions.evaluation_judge import AnswerJudge
from functions.services import Services
from tests.conftest import FIXTURES, MINI_KB
from tests.fakes import HashingEmbedder

MINI_QA = FIXTURES / "mini_qa.jsonl"


@pytest.fixture
def cli_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = HashingEmbedder()
    monkeypatch.setattr(Services, "embedder", property(lambda self: embedder))
    monkeypatch.setenv("GENAI_STACK_MIN_RELEVANCE", "0.2")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    data = tmp_path_factory.mktemp("eval") / "data"
    with pytest.MonkeyPatch.context() as patch:
        embedder = HashingEmbedder()
        patch.setattr(Services, "embedder", property(lambda self: embedder))
        assert main(["ingest", str(MINI_KB), "--data-dir", str(data), "--quiet"]) == EXIT_OK
    return str(data)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("cli_embedder")
def test_the_figures_of_a_labelled_set_are_the_same_twice(
    data_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN seven answerable questions and one the knowledge base cannot answer
    # WHEN the set is evaluated twice
    first = run(capsys, "eval", "answers", str(MINI_QA), "--data-dir", data_dir, "--json")
    second = run(capsys, "eval", "answers", str(MINI_QA), "--data-dir", data_dir, "--json")

    # THEN both runs report exactly the same figures, question by question
    assert first[0] == second[0] == EXIT_OK
    assert first[1] == second[1]
    report = json.loads(first[1])
    summary = report["summary"]
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (8, 7, 1)
    assert summary["handoff_on_unanswerable"] == 1.0  # the Mona Lisa is handed to a person
    assert summary["retrieval_hit_rate"] == 1.0
    assert summary["judge_score"] is None  # no judge asked for
    by_id = {row["item"]["id"]: row for row in report["questions"]}
    assert by_id["m1"]["key_fact_match"] == 1.0 and by_id["m1"]["cites_labelled_doc"] is True
    assert by_id["u1"]["handed_off"] is True and by_id["u1"]["groundedness"] is None
    answered = [row for row in report["questions"] if not row["handed_off"]]
    assert summary["groundedness"] == pytest.approx(
        sum(row["groundedness"] for row in answered) / len(answered), abs=1e-4
    )


@pytest.mark.usefixtures("cli_embedder")
def test_the_table_names_every_figure(data_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "eval", "answers", str(MINI_QA), "--data-dir", data_dir)

    assert code == EXIT_OK
    for name in ("retrieval_hit_rate", "key_fact_match", "groundedness", "citation_correctness"):
        assert name in out
    assert "handoff_correctness" in out and "judge_score" in out


@pytest.mark.usefixtures("cli_embedder")
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ('{"answer": "yes"}', "line 2: 'question' must be a non-empty string"),
        ('{"question": "q", "answer": "a", "key_facts": "45 days"}', "line 2: 'key_facts' must be a list"),
        ('{"question": "q", "doc": "returns.md"}', "line 2: 'doc' and 'key_facts' need a reference 'answer'"),
        ("[1, 2]", "line 2: expected a JSON object"),
    ],
)
def test_a_bad_line_is_named(
    tmp_path: Path, data_dir: str, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "Who painted the Mona Lisa?"}\n' + line + "\n", encoding="utf-8")

    code, out, err = run(capsys, "eval", "answers", str(qa), "--data-dir", data_dir)

    assert code == EXIT_USAGE and out == ""
    assert message in err and str(qa) in err


def test_citations_naming_no_retrieved_source_are_counted(services: Services) -> None:
    services.chat_model = FakeListChatModel(  # type: ignore[misc]
        responses=[
            '{"answerable": true, "answer": "Tents carry a 5 year warranty against manufacturing '
            'defects [1] [9].", "citations": [1, 9], "confidence": 0.9}'
        ]
    )
    item = QAItem(
        1,
        "How many years of warranty do tents get against manufacturing defects?",
        "Five years.",
        "warranty.txt",
        ("5 year",),
    )

    (outcome,) = evaluate_answers(services.pipeline, [item]).outcomes

    assert not outcome.handed_off and outcome.key_fact_match == 1.0
    assert outcome.invalid_citations == 1 and outcome.citations_valid is False
    assert outcome.cites_labelled_doc is True  # [1] is the warranty file


def test_the_judge_grades_answerable_questions_through_the_chat_model(services: Services) -> None:
    judge = AnswerJudge(FakeListChatModel(responses=["Score: 5", "I cannot tell."]))
    items = [
        QAItem(1, "How long is the warranty on tents?", "5 years.", "warranty.txt"),
        QAItem(2, "Who painted the Mona Lisa?", None),  # not graded: no reference
        QAItem(3, "How many days do I have to return unworn items?", "45 days.", "returns.md"),
    ]

    report = evaluate_answers(services.pipeline, items, judge)

    assert [o.judge_score for o in report.outcomes] == [1.0, None, None]
    assert judge.unparsed == 1
    assert report.summary()["judge_score"] == 1.0


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.usefixtures("cli_embedder")
def test_two_configurations_are_compared_with_a_paired_test(
    tmp_path: Path, data_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the shipped configuration, and one whose confidence gate hands every question off
    shipped = write(tmp_path / "shipped.yaml", "top_k: 5\n")
    strict = write(tmp_path / "strict.json", '{"GENAI_STACK_MIN_RELEVANCE": 0.999}')

    code, out, _ = run(
        capsys,
        "eval",
        "answers",
        str(MINI_QA),
        "--data-dir",
        data_dir,
        "--compare",
        shipped,
        strict,
        "--json",
    )

    # THEN the seven answerable questions it now hands off make the shipped one significantly better
    assert code == EXIT_OK
    result = json.loads(out)
    rows = {row["metric"]: row for row in result["metrics"]}
    assert rows["no_handoff_on_answerable"] == {
        "metric": "no_handoff_on_answerable",
        "a": 1.0,
        "b": 0.0,
        "pairs": 7,
        "test": "mcnemar",
        "p_value": pytest.approx(2 / 2**7),
        "better": "A",
    }
    assert rows["groundedness"]["pairs"] == 0 and rows["groundedness"]["better"] is None
    assert result["verdict"].startswith("shipped is better")
    assert result["B"]["handed_off"] == 8

    code, out, _ = run(
        capsys, "eval", "answers", str(MINI_QA), "--data-dir", data_dir, "--compare", shipped, shipped
    )
    assert code == EXIT_OK and "verdict: no significant difference" in out


@pytest.mark.usefixtures("cli_embedder")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("top_kk: 3\n", "'top_kk' is not a setting"),
        ("top_k: 0\n", "top_k"),
        ("- top_k\n", "must hold a mapping"),
    ],
)
def test_a_bad_configuration_file_is_named(
    tmp_path: Path, data_dir: str, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    bad = write(tmp_path / "bad.yaml", text)

    code, _, err = run(capsys, "eval", "answers", str(MINI_QA), "--data-dir", data_dir, "--compare", bad, bad)

    assert code == EXIT_USAGE and message in err
