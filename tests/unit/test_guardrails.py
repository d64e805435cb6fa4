from functions.guardrails.base import Action, CheckContext, Finding, Stage
from functions.guardrails.grounding import GroundingDetector
from functions.guardrails.pii import PiiDetector
from functions.guardrails.policy import GuardrailPolicy

SOURCE = "You can return unworn items within 45 days of delivery. Refunds go to the original card."


class KeywordBlocker:
    """A detector that fires on one word, to test the policy's BLOCK path."""

    category = "denied_topic"

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        return Finding(self.category, 0.9) if "crypto" in text.lower() else None


def policy() -> GuardrailPolicy:
    pii = PiiDetector()
    return GuardrailPolicy(
        detectors={Stage.INPUT: [pii, KeywordBlocker()], Stage.OUTPUT: [pii, GroundingDetector()]},
        actions={"pii": Action.REDACT, "denied_topic": Action.BLOCK, "ungrounded": Action.FLAG},
    )


def test_grounded_answer_has_no_finding() -> None:
    detector = GroundingDetector()
    context = CheckContext(Stage.OUTPUT, (SOURCE,))
    assert detector.detect("Return unworn items within 45 days of delivery [1].", context) is None


def test_invented_sentence_is_flagged_with_its_span() -> None:
    answer = "Return items within 45 days. We also give a free hat to every customer."
    finding = GroundingDetector().detect(answer, CheckContext(Stage.OUTPUT, (SOURCE,)))
    assert finding is not None
    (span,) = finding.spans
    assert answer[span.start : span.end].strip() == "We also give a free hat to every customer."


def test_input_pii_is_redacted_but_allowed() -> None:
    result = policy().check("My email is jane@example.com, where is my order?", Stage.INPUT)
    assert result.allowed
    assert result.redacted_text == "My email is [EMAIL_1], where is my order?"
    assert result.to_dict()["findings"][0]["category"] == "pii"


def test_blocking_finding_refuses_the_text() -> None:
    result = policy().check("Can I pay with crypto?", Stage.INPUT)
    assert not result.allowed and result.blocked_by == ("denied_topic",)


def test_flagged_output_stays_allowed() -> None:
    result = policy().check("We give a free hat to everyone.", Stage.OUTPUT, sources=[SOURCE])
    assert result.allowed and result.has("ungrounded")
