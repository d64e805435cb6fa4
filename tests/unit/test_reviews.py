"""Human preference collection: the review service over both review stores (SQLite, and DynamoDB
under moto), and who counts as a reviewer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.contract import REVIEWERS_GROUP
from functions.contract import DynamoDBLayout as Key
from functions.errors import ConflictError, ForbiddenError, NotFoundError, UnauthorizedError
from functions.feedback.dynamodb_reviews import DynamoDBReviewStore
from functions.feedback.export import build_review_pairs
from functions.feedback.ports import ReviewStore
from functions.feedback.pseudonyms import pseudonymiser
from functions.feedback.reviewers import ReviewerTokens, groups_of, reviewer_id
from functions.feedback.reviews import Candidate, Choice, ReviewService, Verdict, generate_pairs
from functions.feedback.sqlite_reviews import SQLiteReviewStore

KEY = b"k" * 32
GOOD = Candidate("Returns are free within 45 days [1].", "few-shot")
BAD = Candidate("Please contact the carrier.", "zero-shot")


def create_reviews_table(resource: Any) -> None:
    resource.create_table(
        TableName="reviews",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": Key.REVIEW_PAIR_KEY, "KeyType": "HASH"},
            {"AttributeName": Key.REVIEW_ENTRY_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": Key.REVIEW_PAIR_KEY, "AttributeType": "S"},
            {"AttributeName": Key.REVIEW_ENTRY_KEY, "AttributeType": "S"},
        ],
    )


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReviewStore]:
    if request.param == "sqlite":
        sqlite = SQLiteReviewStore(tmp_path / "db.sqlite3")
        yield sqlite
        sqlite.close()
        return
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="eu-west-1")
        create_reviews_table(resource)
        yield DynamoDBReviewStore("reviews", resource=resource)


@pytest.fixture
def service(store: ReviewStore) -> ReviewService:
    return ReviewService(store, pseudonymiser(lambda: KEY))


def answer_for(service: ReviewService, reviewer: str, better: Candidate) -> Choice:
    """The choice (A or B) that names `better` as this reviewer sees the next pair."""
    shown = service.next_pair(reviewer)
    assert shown is not None
    return Choice.A if shown.answer_a == better.answer else Choice.B


def test_one_reviewer_choice_per_pair_is_stored_once(service: ReviewService, store: ReviewStore) -> None:
    pair = service.add_pair("How do returns work?", GOOD, BAD)
    assert pair is not None
    choice = answer_for(service, "ana", GOOD)
    service.record("ana", pair.pair_id, choice, "the first one cites the policy")
    # a second submission by the same reviewer, even another choice, is refused; the first stands
    other = Choice.B if choice is Choice.A else Choice.A
    with pytest.raises(ConflictError):
        service.record("ana", pair.pair_id, other)
    # another reviewer judges the same pair
    service.record("ben", pair.pair_id, Choice.TIE)
    judged = list(store.iter_choices())
    assert [(c.verdict, c.note) for _, c in judged] == [
        (Verdict.FIRST, "the first one cites the policy"),
        (Verdict.TIE, None),
    ]
    assert "ana" not in {c.reviewer for _, c in judged}  # reviewers are kept as pseudonyms
    assert service.next_pair("ana") is None and service.next_pair("cleo") is not None


def test_the_order_is_drawn_per_reviewer_and_the_choice_maps_back(service: ReviewService) -> None:
    pair = service.add_pair("How do returns work?", GOOD, BAD)
    assert pair is not None
    reviewers = [f"reviewer-{n}" for n in range(12)]
    shown_first = {service.next_pair(r).answer_a for r in reviewers}  # type: ignore[union-attr]
    assert shown_first == {GOOD.answer, BAD.answer}  # some see each answer first
    for reviewer in reviewers:
        assert service.next_pair(reviewer) == service.next_pair(reviewer)  # stable between fetches
        recorded = service.record(reviewer, pair.pair_id, answer_for(service, reviewer, GOOD))
        assert recorded.verdict is Verdict.FIRST  # whatever the order it was shown in


def test_unjudged_and_least_judged_pairs_come_first(service: ReviewService) -> None:
    first = service.add_pair("Question one?", GOOD, BAD)
    second = service.add_pair("Question two?", GOOD, BAD)
    assert first and second
    service.record("ana", first.pair_id, Choice.A)
    assert service.next_pair("ben").pair_id == second.pair_id  # type: ignore[union-attr]
    assert service.next_pair("ana").pair_id == second.pair_id  # type: ignore[union-attr]


def test_identical_answers_make_no_pair_and_unknown_pairs_are_not_found(service: ReviewService) -> None:
    assert service.add_pair("Q?", GOOD, Candidate(f"  {GOOD.answer} ", "other")) is None
    with pytest.raises(NotFoundError):
        service.record("ana", "no-such-pair", Choice.A)


def test_notes_are_redacted_and_ties_are_not_exported(service: ReviewService, store: ReviewStore) -> None:
    pair = service.add_pair("How do returns work?", GOOD, BAD)
    assert pair is not None
    service.record("ana", pair.pair_id, answer_for(service, "ana", BAD), "mail me at ana@example.com")
    service.record("ben", pair.pair_id, Choice.TIE)
    [exported] = build_review_pairs(store.iter_choices())
    assert exported["chosen"] == [{"role": "assistant", "content": BAD.answer}]
    assert exported["rejected"][0]["content"] == GOOD.answer
    assert (exported["chosen_config"], exported["rejected_config"]) == ("zero-shot", "few-shot")
    assert exported["note"] == "mail me at [EMAIL_1]"
    assert exported["user_id"] == pseudonymiser(lambda: KEY)("ana")


def test_pairs_are_generated_from_two_configurations(service: ReviewService) -> None:
    pairs = generate_pairs(
        service,
        ["Q1?", "Q2?"],
        ("a", lambda q: "same" if q == "Q1?" else "long answer"),
        ("b", lambda q: "same" if q == "Q1?" else "short"),
    )
    assert [(p.question, p.first.config, p.second.answer) for p in pairs] == [("Q2?", "a", "short")]


def test_reviewers_are_the_group_behind_the_authorizer_or_local_token_holders() -> None:
    tokens = ReviewerTokens(KEY)
    token = tokens.issue("ana")
    assert reviewer_id(None, token, tokens) == "local:ana"
    with pytest.raises(UnauthorizedError):
        reviewer_id(None, None, tokens)  # no credentials
    with pytest.raises(UnauthorizedError):
        reviewer_id(None, token[:-2] + "xx", tokens)  # forged
    with pytest.raises(UnauthorizedError):
        reviewer_id(None, token, ReviewerTokens(b"another key"))  # signed for another data directory
    with pytest.raises(ForbiddenError):
        reviewer_id(None, "guest.abc.123.sig", tokens)  # a visitor, not a reviewer
    member = {"sub": "sub-1", "cognito:groups": f"[admins {REVIEWERS_GROUP}]"}
    assert reviewer_id(member, None, tokens) == "sub-1"
    with pytest.raises(ForbiddenError):
        reviewer_id({"sub": "sub-2", "cognito:groups": "[admins]"}, token, tokens)  # no local token in AWS
    with pytest.raises(ValueError, match="reviewer's name"):
        tokens.issue("has.dots")


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        (None, set()),
        ("[reviewers]", {"reviewers"}),
        ("[a b]", {"a", "b"}),
        (["a", "reviewers"], {"a", "reviewers"}),
    ],
)
def test_the_groups_claim_reads_as_a_list_or_as_api_gateways_string(claim: Any, groups: set[str]) -> None:
    claims = {} if claim is None else {"cognito:groups": claim}
    assert groups_of(claims) == groups
