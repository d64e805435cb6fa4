import pytest

from functions.guardrails.base import CheckContext, Stage
from functions.guardrails.pii import PiiDetector, find_pii, redact_pii


def labels(text: str) -> list[str]:
    return [span.label for span in find_pii(text)]


def test_redacts_each_kind_of_identifier() -> None:
    text = (
        "Mail jane.doe@example.com, call +1 (415) 555-0134, card 4111 1111 1111 1111, "
        "IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, IP 192.168.1.20, home 221 Baker Street."
    )
    assert redact_pii(text) == (
        "Mail [EMAIL], call [PHONE], card [CREDIT_CARD], IBAN [IBAN], SSN [US_SSN], IP [IP_ADDRESS], "
        "home [STREET_ADDRESS]."
    )


def test_leaves_order_numbers_prices_and_dates_alone() -> None:
    text = "Order NW-12345678 of 2024-05-01 cost $1,299.00; returns within 45 days, fee 4.99."
    assert find_pii(text) == []


def test_card_numbers_must_pass_the_luhn_check() -> None:
    assert labels("card 4111 1111 1111 1111") == ["CREDIT_CARD"]
    assert "CREDIT_CARD" not in labels("card 4111 1111 1111 1112")


def test_iban_must_pass_the_checksum() -> None:
    assert labels("GB82 WEST 1234 5698 7654 32") == ["IBAN"]
    assert "IBAN" not in labels("GB83 WEST 1234 5698 7654 32")


def test_impossible_ip_addresses_are_not_pii() -> None:
    assert labels("version 999.1.2.3") == []


def test_allowlist_keeps_public_contact_details() -> None:
    text = "Write to support@northwind.example, not to jane@example.com."
    assert (
        redact_pii(text, allow=("@northwind.example",))
        == "Write to support@northwind.example, not to [EMAIL]."
    )


def test_output_detector_ignores_values_quoted_from_sources() -> None:
    detector = PiiDetector()
    source = "Call +1 555 0100 for help."
    assert detector.detect("Call +1 555 0100 today", CheckContext(Stage.OUTPUT, (source,))) is None
    finding = detector.detect("Call +1 415 555 0199 today", CheckContext(Stage.OUTPUT, (source,)))
    assert finding is not None and [s.label for s in finding.spans] == ["PHONE"]


@pytest.mark.parametrize(
    "iban", ["gb82 west 1234 5698 7654 32", "de89370400440532013000", "Gb82West12345698765432"]
)
def test_an_iban_typed_in_lower_or_mixed_case_is_redacted(iban: str) -> None:
    assert redact_pii(f"refund to {iban} please") == "refund to [IBAN] please"


def test_a_lower_case_iban_shape_failing_mod_97_is_not_an_iban() -> None:
    assert "[IBAN]" not in redact_pii("refund to gb82 west 1234 5698 7654 33 please")
