"""Privacy in AWS, under moto with the handlers the stack deploys: PII reaches no DynamoDB item,
SNS message, export object, log line or trace; erasure behind the JWT authorizer forgets one
user and nobody else (A1 = A0 - B0, B1 = 0, C1 = C0), and only the user or an admin may ask."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions.contract import ADMIN_SCOPE
from functions.feedback.pseudonyms import pseudonymise
from functions.observability import tracer
from tests.fakes import FakeLambdaContext, api_gateway_event
from tests.functional.test_aws_handlers import EVENT, PSEUDONYM_KEY, REGION, cloud, ingested  # noqa: F401
from tests.privacy_fixtures import (
    PII,
    Census,
    RecordingTraceProvider,
    captured_log,
    pii_params,
    raw_forms,
    sentence,
)

EXPORT_KEY = "exports/privacy-run/interactions.jsonl"
USERS = ("erin", "frank", "gus")


@pytest.fixture(autouse=True)
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The EMF lines are searched too: metrics on, whatever an earlier CLI test left switched."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")


def call(
    cloud: dict[str, Any],  # noqa: F811 - the fixture
    name: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    user: str | None = None,
    scopes: tuple[str, ...] = (),
) -> tuple[int, dict[str, Any]]:
    """One request through a handler, signed in as `user` as API Gateway's JWT authorizer passes it on."""
    event = api_gateway_event(EVENT, method, path, None if body is None else json.dumps(body))
    if user is not None:
        event["requestContext"] = {
            **event["requestContext"],
            "authorizer": {"jwt": {"claims": {"sub": user}, "scopes": list(scopes)}},
        }
    response = cloud["handlers"][name](event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def pseudonym(user: str) -> str:
    value = pseudonymise(user, PSEUDONYM_KEY.encode())
    assert value is not None
    return value


def items(table: str) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb", region_name=REGION).Table(table).scan()["Items"]


def export_rows() -> list[dict[str, Any]]:
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="training-data").get("Contents", [])]
    rows = []
    for key in keys:
        body = s3.get_object(Bucket="training-data", Key=key)["Body"].read().decode()
        rows.extend(json.loads(line) for line in body.splitlines() if line.strip())
    return rows


def census(user: str) -> Census:
    conversations, feedback, receipts = items("conversations"), items("feedback"), items("idempotency")
    rows = export_rows()

    def count(person: str) -> int:
        mine = {i["conversation_id"] for i in conversations if i.get("user_id") == pseudonym(person)}
        messages = {i["message_id"] for i in conversations if i["conversation_id"] in mine}
        return (
            len(messages)
            + sum(1 for i in feedback if i["message_id"] in messages)
            + sum(1 for i in receipts if json.loads(i.get("data") or "{}").get("message_id") in messages)
            + sum(1 for r in rows if r["user_id"] == pseudonym(person))
        )

    return Census(
        all=len(conversations) + len(feedback) + len(receipts) + len(rows),
        user=count(user),
        others=sum(count(other) for other in USERS if other != user),
    )


def fill(cloud: dict[str, Any]) -> dict[str, str]:  # noqa: F811 - the fixture
    """Each user: two conversations of two turns, the second rated down and escalated; then an export."""
    last = {}
    for user in USERS:
        for question in ("How many days to return jackets?", "How much is express delivery?"):
            status, first = call(cloud, "query", "POST", "/v1/query", {"question": question}, user=user)
            assert status == 200, first
            follow = {"question": "And for gloves?", "conversation_id": first["conversation_id"]}
            status, second = call(cloud, "query", "POST", "/v1/query", follow, user=user)
            assert status == 200, second
            rating = {"message_id": second["message_id"], "rating": "down", "reason": "meh", "escalate": True}
            assert call(cloud, "feedback", "POST", "/v1/feedback", rating, user=user)[0] == 200
            last[user] = first["conversation_id"]
    cloud["handlers"]["export"]({"prefix": EXPORT_KEY.rsplit("/", 1)[0]}, FakeLambdaContext())
    return last


def test_erasure_in_aws_forgets_the_user_and_nobody_else(
    ingested: dict[str, Any],  # noqa: F811 - the fixture
    cloud: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_bucket_versioning(Bucket="training-data", VersioningConfiguration={"Status": "Enabled"})
    last = fill(cloud)
    before = census("erin")
    assert before.user > 0 and before.others > 0

    # someone else may not ask; the user may
    assert call(cloud, "privacy", "DELETE", "/v1/users/erin/data", user="frank")[0] == 403
    status, report = call(cloud, "privacy", "DELETE", "/v1/users/erin/data", user="erin")

    assert status == 200, report
    assert report["requested_by"] == "self"
    assert report["counts"] == {
        "conversations": 2,
        "messages": 4,
        "feedback": 2,
        "idempotency_records": 2,
        "export_rows": 4,
    }
    after = census("erin")
    assert (after.all, after.user, after.others) == (before.all - before.user, 0, before.others)
    # the export object's earlier versions, which still held the rows, are gone too
    versions = s3.list_object_versions(Bucket="training-data", Prefix=EXPORT_KEY)["Versions"]
    assert len(versions) == 1
    # a second request (an admin's) finds nothing
    status, again = call(cloud, "privacy", "DELETE", "/v1/users/erin/data", user="ops", scopes=(ADMIN_SCOPE,))
    assert (status, again["requested_by"], again["total"]) == (200, "admin", 0)
    # the other users' conversations go on
    follow = {"question": "And for boots?", "conversation_id": last["frank"]}
    status, answer = call(cloud, "query", "POST", "/v1/query", follow, user="frank")
    assert status == 200, answer
    rating = {"message_id": answer["message_id"], "rating": "up"}
    assert call(cloud, "feedback", "POST", "/v1/feedback", rating, user="frank")[0] == 200


@pytest.mark.parametrize("kind", pii_params())
def test_pii_reaches_no_aws_store_message_log_or_trace(
    kind: str,
    ingested: dict[str, Any],  # noqa: F811 - the fixture
    cloud: dict[str, Any],  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    traces = RecordingTraceProvider()
    monkeypatch.setattr(tracer, "provider", traces)
    text = sentence(kind)
    with captured_log() as log:
        status, answer = call(cloud, "query", "POST", "/v1/query", {"question": text}, user="hana")
        assert status == 200, answer
        feedback = {
            "message_id": answer["message_id"],
            "rating": "down",
            "reason": text[:200],
            "comment": text,
            "escalate": True,
        }
        assert call(cloud, "feedback", "POST", "/v1/feedback", feedback, user="hana")[0] == 200
        unknown = {"message_id": PII[kind][:128], "rating": "up"}
        assert call(cloud, "feedback", "POST", "/v1/feedback", unknown, user="hana")[0] in {404, 422}
        assert call(cloud, "retrieval", "POST", "/v1/retrieve", {"query": text}, user="hana")[0] == 200
        check = {"text": text, "stage": "input"}
        assert call(cloud, "guardrails", "POST", "/v1/guardrails/check", check, user="hana")[0] == 200
        cloud["handlers"]["export"]({"prefix": "exports/pii-run"}, FakeLambdaContext())
    out, err = capsys.readouterr()
    sqs = cloud["sqs"]
    published = sqs.receive_message(QueueUrl=cloud["inbox"], MaxNumberOfMessages=10).get("Messages", [])
    assert published, "no escalation reached the support inbox"
    places = {
        "dynamodb": json.dumps([items(t) for t in ("conversations", "feedback", "idempotency")], default=str),
        "sns": json.dumps([m["Body"] for m in published]),
        "export": json.dumps(export_rows()),
        "log and EMF": log.getvalue() + out + err,
        "traces": traces.dump(),
    }
    assert '"_aws"' in out, "no EMF line was written"
    assert any(s.name.startswith("## ") for s in traces.segments), "the handler opened no subsegment"
    for place, content in places.items():
        for form in raw_forms(PII[kind]):
            assert form not in content, f"{kind} found in {place}"
    assert "hana" not in places["dynamodb"] + places["sns"] + places["export"]  # stored as a pseudonym
    for message in published:
        sqs.delete_message(QueueUrl=cloud["inbox"], ReceiptHandle=message["ReceiptHandle"])


def test_statistics_need_the_admin_scope_and_count_the_loop(
    ingested: dict[str, Any],  # noqa: F811 - the fixture
    cloud: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    assert call(cloud, "stats", "GET", "/v1/stats", user="ivy")[0] == 403
    status, asked = call(
        cloud, "query", "POST", "/v1/query", {"question": "How much is express delivery?"}, user="ivy"
    )
    assert status == 200
    rating = {"message_id": asked["message_id"], "rating": "up"}
    assert call(cloud, "feedback", "POST", "/v1/feedback", rating, user="ivy")[0] == 200
    status, stats = call(cloud, "stats", "GET", "/v1/stats", user="ops", scopes=(ADMIN_SCOPE,))
    assert status == 200, stats
    conversations = items("conversations")
    assert stats["messages"] == len(conversations) and stats["chunks"] > 0 and stats["sources"] == 2
    assert stats["conversations"] == len({i["conversation_id"] for i in conversations})
    assert stats["thumbs_up"] == sum(1 for i in items("feedback") if i["rating"] == "up") >= 1
