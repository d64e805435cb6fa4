import pytest

from functions.guardrails.base import CheckContext, Stage
from functions.guardrails.pii import PiiDetector, find_pii, redact_pii
from functions.guardrails.placeholders import Placeholders


def labels(text: str) -> list[str]:
    return [span.label for span in find_pii(text)]


def test_redacts_each_kind_of_identifier() -> None:
    text = (
        "Mail jane.doe@example.com, call +1 (415) 555-0134, card 4111 1111 1111 1111, "
        "IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, IP 192.168.1.20, home 221 Baker Street."
    )
    assert redact_pii(text) == (
        "Mail [EMAIL_1], call [PHONE_1], card [CREDIT_CARD_1], IBAN [IBAN_1], SSN [US_SSN_1], "
        "IP [IP_ADDRESS_1], home [STREET_ADDRESS_1]."
    )


def test_redaction_numbers_each_value_as_the_guardrails_do() -> None:
    # GIVEN two addresses, one of them twice, and one numbering shared by two fields of a record
    shared = Placeholders()
    first = redact_pii("Mail a@example.com or b@example.com, not a@example.com", placeholders=shared)
    second = redact_pii("I meant b@example.com", placeholders=shared)
    # THEN each value keeps its typed placeholder, the same one the query path would write
    assert first == "Mail [EMAIL_1] or [EMAIL_2], not [EMAIL_1]"
    assert second == "I meant [EMAIL_2]"


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
        == "Write to support@northwind.example, not to [EMAIL_1]."
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
    assert redact_pii(f"refund to {iban} please") == "refund to [IBAN_1] please"


def test_a_lower_case_iban_shape_failing_mod_97_is_not_an_iban() -> None:
    assert "[IBAN_1]" not in redact_pii("refund to gb82 west 1234 5698 7654 33 please")


def test_iban_is_found_in_any_case_and_grouping() -> None:
    for text in (
        "DE89 3704 0044 0532 0130 00",
        "de89 3704 0044 0532 0130 00",
        "de89370400440532013000",
        "De89-3704-0044-0532-0130-00",
        "gb82west12345698765432",
    ):
        assert labels(f"my iban is {text} thanks") == ["IBAN"], text


def test_obfuscated_email_addresses_are_found() -> None:
    for text in ("jane at example dot com", "jane.doe (at) example [dot] co [dot] uk", "bob [at] mail.de"):
        assert labels(f"write to {text} please") == ["EMAIL"], text
    assert labels("meet me at the store, dot the i's") == []


def test_dates_of_birth_names_and_european_addresses() -> None:
    assert labels("DOB: 12/03/1985") == ["DATE_OF_BIRTH"]
    assert labels("I was born on 3 March 1985") == ["DATE_OF_BIRTH"]
    assert labels("Order of 2024-05-01 arrived") == []  # a date without a birth context
    assert labels("Hi, my name is Jane Smith and my order is late") == ["PERSON"]
    assert labels("I'm Very angry") == []  # one capitalised word is not a name
    assert labels("Send it to Hauptstraße 5 please") == ["STREET_ADDRESS"]
    assert labels("Envoyez à 12 rue de la Paix") == ["STREET_ADDRESS"]


def test_order_tracking_and_non_luhn_numbers_are_not_pii() -> None:
    assert labels("order number 123456789012 is late") == []
    assert labels("tracking 9400 1000 0000 0000 0000 00 has not moved") == []
    assert labels("transaction 4929 1234 5678 9013 failed") == []  # 16 digits, fails Luhn
    assert labels("At 12:30:45 the parcel left") == []
    assert labels("Invoice 2024-11-55123") == []


def test_international_phone_numbers_and_ipv6() -> None:
    for phone in ("+44 20 7946 0958", "+49 (0)30 123456", "0033 1 23 45 67 89", "(415) 555-0134 x123"):
        assert labels(f"call me on {phone}") == ["PHONE"], phone
    assert labels("from fe80::202:b3ff:fe1e:8329") == ["IP_ADDRESS"]


def test_allowed_types_are_kept() -> None:
    assert find_pii("call +44 20 7946 0958", allowed_types=("PHONE",)) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My name is Rubija and my parcel is late", "Rubija"),  # one word after "my name is"
        ("Please correct the invoice to Mr. Jouni Hahli", "Jouni Hahli"),
        ("Frau Schmidt hat gestern angerufen", "Schmidt"),
        ("Dear Jane,\nthe parcel came back", "Jane"),
        ("I spoke to Ivan King on the phone yesterday", "Ivan King"),
        ("Timotea lives on Via dei Fiorentini 17", "Timotea"),
        ("Ship it to:\nElla H. Snider\n228 Ringvej 14", "Ella H. Snider"),
        ("Je m'appelle Amélie Poulain, ma commande 4471 est en retard", "Amélie Poulain"),
    ],
)
def test_a_name_next_to_who_the_customer_is_or_a_title_is_found(text: str, name: str) -> None:
    assert [text[s.start : s.end] for s in find_pii(text) if s.label == "PERSON"] == [name]


@pytest.mark.parametrize(
    "text",
    [
        "Hi Team, my order 4481 has not arrived",
        "Hello Support,\nwhere is my parcel?",
        "He lives on the first floor, leave it with the neighbour",
        "I'm Very angry about order NW-12345678",
        "Thanks, Northwind Outfitters",
    ],
)
def test_greetings_pronouns_and_shop_names_are_not_names(text: str) -> None:
    assert "PERSON" not in labels(text)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Send it to 18 McPherson Road, Apt 4 please", "18 McPherson Road, Apt 4"),
        ("new address: Nybyvägen 65, Ankarsrum", "Nybyvägen 65"),
        ("Lieferung an Kerkstraat 12 bitte", "Kerkstraat 12"),
        ("ship to C/ Señores Curas 88, Madrid", "C/ Señores Curas 88"),
        ("It goes to Via dei Fiorentini 17, Roma", "Via dei Fiorentini 17"),
        ("Use my PO Box 4410 for returns", "PO Box 4410"),
        ("Postfach 12 34, Berlin", "Postfach 12 34"),
        ("Springfield, IL 62704 is where I live", "Springfield, IL 62704"),
        ("London SW1A 1AA", "SW1A 1AA"),
        ("USS Lorenzen, FPO AE 25990", "FPO AE 25990"),
    ],
)
def test_street_addresses_post_boxes_and_postcodes_are_found(text: str, address: str) -> None:
    assert [text[s.start : s.end] for s in find_pii(text) if s.label == "STREET_ADDRESS"] == [address]


@pytest.mark.parametrize(
    "text",
    [
        "During 1984 the shop opened",
        "Order 12345 Shipped Today",
        "tracking 1Z999AA10123456784 is stuck",
        "Apple iPhone 15 Pro case",
        "transaction 4929 1234 5678 9013 failed",
        "room 12 of the store",
    ],
)
def test_years_order_and_tracking_numbers_are_not_addresses(text: str) -> None:
    assert find_pii(text) == []
