"""The evaluation report over the mini knowledge base (hashing embedder): the hand-off rates,
including the simulated one where the answering document is missing from the knowledge base."""

from __future__ import annotations

from functions.evaluation import LabelledQuestion, evaluate
from functions.services import Services


def question(id_: str, text: str, doc: str | None) -> LabelledQuestion:
    return LabelledQuestion(id_, text, doc, "direct" if doc else "unanswerable")


def test_hand_off_rates_with_and_without_the_answering_document(services: Services) -> None:
    questions = [
        # Only the warranty file talks about tents and defects: without it, nothing is close.
        question(
            "w", "How many years of warranty do tents get against manufacturing defects?", "warranty.txt"
        ),
        # Delivery to the EU is in the shipping file, but the returns file also speaks of delivery
        # and days, so another document still clears the gate (and would be used to answer).
        question("s", "How many days does delivery to the EU take?", "shipping.md"),
        question("u", "Who painted the Mona Lisa?", None),
    ]
    report = evaluate(services.pipeline, questions)
    by_id = {result.question.id: result for result in report.results}

    assert [by_id[q].fallback for q in "wsu"] == [False, False, True]
    assert by_id["w"].fallback_without_doc is True
    assert by_id["s"].fallback_without_doc is False
    assert by_id["u"].fallback_without_doc is None  # nothing to leave out
    summary = report.summary()
    assert summary["fallback_rate_answerable"] == 0.0
    assert summary["fallback_rate_unanswerable"] == 1.0
    assert summary["fallback_rate_answering_doc_removed"] == 0.5


def test_a_follow_up_is_asked_after_its_history_and_reported_by_kind(services: Services) -> None:
    tents = "How long is the warranty on tents?"
    questions = [
        LabelledQuestion("t", tents, "warranty.txt", "direct", ("5 year",)),
        # Alone, "and jackets?" shares no word with the warranty file; after the tents question
        # it is read as "How long is the warranty on tents (jackets)?".
        LabelledQuestion("f", "And what about jackets?", "warranty.txt", "followup", ("2 years",), (tents,)),
    ]
    report = evaluate(services.pipeline, questions)
    by_kind = report.summary()["by_kind"]

    assert by_kind["followup"]["recall@5"] == 1.0 and by_kind["followup"]["fallback_rate"] == 0.0
    assert by_kind["direct"]["first_sentence_rate"] == 1.0
    follow_up = report.results[1]
    assert follow_up.answer_ok and not follow_up.first_sentence_ok  # the tents sentence leads
