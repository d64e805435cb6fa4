"""The Lambda handlers with the AWS adapters, selected by environment variables exactly as the
CDK stack sets them, under moto: DynamoDB, SNS, S3 and SQS are moto's; OpenSearch is the fake
cluster behind opensearch-py; Bedrock (which moto does not implement) is a fake client."""

from __future__ import annotations

import importlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from moto import mock_aws

from functions import aws
from functions.contract import DynamoDBLayout, EnvVar
from functions.feedback.pseudonyms import pseudonymise
from functions.rag.chat_models.extractive import ExtractiveChatModel
from functions.settings import get_settings
from tests.dynamodb_tables import create_store_tables
from tests.fake_opensearch import FakeCluster, FakeConnection, timeout
from tests.fakes import FakeLambdaContext, HashingEmbedder, api_gateway_event

REGION = "eu-west-1"
EVENT = json.loads((Path(__file__).parent.parent / "events" / "http_api_v2_post.json").read_text())
SQS_EVENT = json.loads((Path(__file__).parent.parent / "events" / "sqs_s3_notifications.json").read_text())
DOCUMENTS = {
    "policies/returns.md": "# Returns\n\n## Window\n\nYou can return unworn jackets within 45 days of delivery.\n",
    "policies/shipping.md": "# Shipping\n\n## Express\n\nExpress delivery takes one business day and costs $14.95.\n",
    "policies/broken.json": "[{not json",
}
PSEUDONYM_KEY = "a-key-only-the-export-function-can-read"


class FakeBedrockRuntime:
    """Titan embeddings from the hashing embedder; Converse answers with the extractive model."""

    def __init__(self) -> None:
        self.embedder = HashingEmbedder(256)
        self.throttle = False
        self.converse_calls: list[dict[str, Any]] = []

    def _check(self) -> None:
        if self.throttle:
            error = {
                "Error": {"Code": "ThrottlingException", "Message": "slow down"},
                "ResponseMetadata": {"HTTPStatusCode": 429},
            }
            raise ClientError(error, "InvokeModel")

    def invoke_model(self, modelId: str, body: str, **_: Any) -> dict[str, Any]:
        self._check()
        request = json.loads(body)
        raw = json.dumps({"embedding": self.embedder.embed_query(request["inputText"]).tolist()}).encode()
        return {"body": StreamingBody(io.BytesIO(raw), len(raw))}

    def converse(self, **request: Any) -> dict[str, Any]:
        self._check()
        self.converse_calls.append(request)
        prompt = request["messages"][-1]["content"][0]["text"]
        reply = ExtractiveChatModel().invoke(prompt)
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": reply.text}]}},
            "usage": {"inputTokens": 200, "outputTokens": 20, "totalTokens": 220},
        }


class RacingTurnWriter:
    """A botocore hook that, when armed, lets another request write the same conversation turn
    just before the handler's own PutItem reaches DynamoDB: the race two concurrent requests in
    one conversation run, made deterministic."""

    def __init__(self) -> None:
        self.armed = False

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        if not self.armed:
            return
        self.armed = False
        item = json.loads(params["body"])["Item"]
        racing = {**item, DynamoDBLayout.MESSAGE_KEY: {"S": "the-other-request"}}
        boto3.client("dynamodb", region_name=REGION).put_item(TableName="conversations", Item=racing)


class InvocationKilled(BaseException):
    """Lambda stopping an invocation (a timeout): no `except Exception` runs, so Powertools leaves
    its idempotency record INPROGRESS, as it does when the sandbox is frozen mid-call."""


class Killer:
    """A botocore hook that, when armed, kills the invocation as it is about to call SNS."""

    def __init__(self) -> None:
        self.armed = False

    def __call__(self, **_: Any) -> None:
        if self.armed:
            self.armed = False
            raise InvocationKilled


class DeadlineContext(FakeLambdaContext):
    """A Lambda context with this much time left in the invocation."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(scope="module")
def cloud() -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        boto3.setup_default_session()  # dropped again at the end of the module
        race = RacingTurnWriter()  # clients copy the session's hooks when created: register first
        boto3.DEFAULT_SESSION.events.register("before-call.dynamodb.PutItem", race)
        killer = Killer()
        boto3.DEFAULT_SESSION.events.register("before-call.sns.Publish", killer)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        key = DynamoDBLayout
        create_store_tables(boto3.resource("dynamodb", region_name=REGION))
        dynamodb.create_table(
            TableName="idempotency",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key.IDEMPOTENCY_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key.IDEMPOTENCY_KEY, "AttributeType": "S"}],
        )
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in ("documents", "training-data"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        for name, text in DOCUMENTS.items():
            s3.put_object(Bucket="documents", Key=name, Body=text.encode())
        pseudonym_secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="pseudonym-key", SecretString=PSEUDONYM_KEY
        )["ARN"]
        sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="escalations")["TopicArn"]
        inbox = sqs.create_queue(QueueName="support-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"}
        )

        environment = {
            EnvVar.VECTOR_STORE: "opensearch",
            EnvVar.OPENSEARCH_ENDPOINT: "https://search-genai.eu-west-1.es.amazonaws.com",
            EnvVar.OPENSEARCH_INDEX: "chunks",
            EnvVar.EMBEDDER: "bedrock",
            EnvVar.EMBEDDING_DIMENSION: "256",
            EnvVar.CHAT_MODEL: "bedrock",
            EnvVar.STORE: "dynamodb",
            EnvVar.CONVERSATIONS_TABLE: "conversations",
            EnvVar.FEEDBACK_TABLE: "feedback",
            EnvVar.IDEMPOTENCY_TABLE: "idempotency",
            EnvVar.ESCALATION_TOPIC_ARN: topic,
            EnvVar.DOCUMENTS_BUCKET: "documents",
            EnvVar.TRAINING_DATA_BUCKET: "training-data",
            EnvVar.PSEUDONYM_SECRET_ARN: pseudonym_secret,
            "GENAI_STACK_MIN_RELEVANCE": "0.2",
        }
        for name, value in environment.items():
            patch.setenv(name, value)

        import opensearchpy

        FakeConnection.cluster = FakeCluster()
        patch.setattr(opensearchpy, "RequestsHttpConnection", FakeConnection)
        bedrock = FakeBedrockRuntime()
        real_client = aws.client
        patch.setattr(
            aws,
            "client",
            lambda service, read_timeout=10.0: (
                bedrock if service == "bedrock-runtime" else real_client(service, read_timeout)
            ),
        )
        aws.reset_clients()
        get_settings.cache_clear()

        handlers = {}
        for name in ("query", "retrieval", "guardrails", "feedback", "privacy", "stats", "ingest", "export"):
            module = importlib.reload(importlib.import_module(f"functions.handlers.{name}"))
            handlers[name] = module.handler
        from functions.rag.stores.opensearch import OpenSearchVectorStore

        OpenSearchVectorStore.for_endpoint(
            "https://search-genai.eu-west-1.es.amazonaws.com", "chunks", 256
        ).ensure_index()
        yield {
            "handlers": handlers,
            "bedrock": bedrock,
            "cluster": FakeConnection.cluster,
            "inbox": inbox,
            "sqs": sqs,
            "race": race,
            "killer": killer,
        }
        aws.reset_clients()
        boto3.DEFAULT_SESSION = None
    get_settings.cache_clear()


def http(cloud: dict[str, Any], name: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    event = api_gateway_event(EVENT, "POST", path, json.dumps(body))
    response = cloud["handlers"][name](event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture(scope="module")
def ingested(cloud: dict[str, Any]) -> dict[str, Any]:
    return cloud["handlers"]["ingest"](SQS_EVENT, FakeLambdaContext())


def test_ingest_indexes_good_documents_and_fails_only_the_poison_one(
    ingested: dict[str, Any], cloud: dict[str, Any]
) -> None:
    assert ingested == {"batchItemFailures": [{"itemIdentifier": "msg-broken"}]}
    sources = {doc["source"] for doc in cloud["cluster"].docs("chunks").values()}
    assert sources == {"policies/returns.md", "policies/shipping.md"}


def test_query_answers_through_opensearch_and_bedrock(
    ingested: dict[str, Any], cloud: dict[str, Any]
) -> None:
    status, body = http(
        cloud, "query", "/v1/query", {"question": "How many days to return jackets?", "user_id": "u-1"}
    )
    assert status == 200, body
    assert body["sources"][0]["source"] == "policies/returns.md" and "45 days" in body["answer"]
    assert body["usage"] == {"input_tokens": 200, "output_tokens": 20, "total_tokens": 220}
    request = cloud["bedrock"].converse_calls[-1]
    assert request["system"][0]["text"].startswith("You are the customer-support assistant")
    item = (
        boto3.resource("dynamodb")
        .Table("conversations")
        .get_item(Key={"conversation_id": body["conversation_id"], "turn": 1})["Item"]
    )
    assert item["message_id"] == body["message_id"] and item["expires_at"] > 0


def test_feedback_is_idempotent_and_escalates_once(ingested: dict[str, Any], cloud: dict[str, Any]) -> None:
    _, answer = http(cloud, "query", "/v1/query", {"question": "What does express delivery cost?"})
    submission = {"message_id": answer["message_id"], "rating": "down", "reason": "wrong", "escalate": True}
    first = http(cloud, "feedback", "/v1/feedback", submission)
    again = http(cloud, "feedback", "/v1/feedback", submission)
    assert first[0] == again[0] == 200 and first[1]["ticket_id"] == again[1]["ticket_id"] is not None
    messages = cloud["sqs"].receive_message(QueueUrl=cloud["inbox"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["message_id"] for m in messages] == [answer["message_id"]]
    stored = (
        boto3.resource("dynamodb")
        .Table("feedback")
        .get_item(Key={"message_id": answer["message_id"]})["Item"]
    )
    assert (stored["rating"], stored["reason"], stored["escalate"]) == ("down", "wrong", True)


def test_nobody_else_acts_on_a_conversation_in_dynamodb(
    ingested: dict[str, Any], cloud: dict[str, Any]
) -> None:
    _, alice = http(
        cloud, "query", "/v1/query", {"question": "What does express delivery cost?", "user_id": "alice"}
    )
    continued = {
        "question": "Express delivery, what is the price?",
        "conversation_id": alice["conversation_id"],
    }
    rating = {"message_id": alice["message_id"], "rating": "down", "escalate": True}

    assert http(cloud, "query", "/v1/query", {**continued, "user_id": "bob"})[0] == 404
    assert http(cloud, "feedback", "/v1/feedback", {**rating, "user_id": "bob"})[0] == 404
    table = boto3.resource("dynamodb").Table("conversations")
    assert table.get_item(Key={"conversation_id": alice["conversation_id"], "turn": 2}).get("Item") is None
    assert (
        boto3.resource("dynamodb")
        .Table("feedback")
        .get_item(Key={"message_id": alice["message_id"]})
        .get("Item")
        is None
    )
    assert http(cloud, "query", "/v1/query", {**continued, "user_id": "alice"})[0] == 200


def kill_while_escalating(cloud: dict[str, Any], submission: dict[str, Any], remaining_ms: int) -> None:
    """Send the submission in an invocation that dies as it escalates, with this much time left."""
    in_progress_before = in_progress_records()
    cloud["killer"].armed = True
    event = api_gateway_event(EVENT, "POST", "/v1/feedback", json.dumps(submission))
    cloud["handlers"]["feedback"](event, DeadlineContext(remaining_ms))  # nobody gets this response
    assert not cloud["killer"].armed
    assert in_progress_records() == in_progress_before + 1  # this attempt's record is left INPROGRESS


def in_progress_records() -> int:
    items = boto3.resource("dynamodb").Table("idempotency").scan()["Items"]
    return sum(item["status"] == "INPROGRESS" for item in items)


def test_feedback_retried_while_its_first_attempt_runs_is_a_409(
    ingested: dict[str, Any], cloud: dict[str, Any]
) -> None:
    _, answer = http(cloud, "query", "/v1/query", {"question": "What does express delivery cost?"})
    submission = {"message_id": answer["message_id"], "rating": "down", "escalate": True}
    kill_while_escalating(cloud, submission, remaining_ms=60_000)
    # As far as anyone can tell the first attempt still runs (a minute left): no second effect.
    status, body = http(cloud, "feedback", "/v1/feedback", submission)
    assert (status, body["error"]["code"]) == (409, "conflict"), body
    assert "retry in a moment" in body["error"]["message"]


def test_feedback_whose_lambda_timed_out_is_recorded_on_the_next_retry(
    ingested: dict[str, Any], cloud: dict[str, Any]
) -> None:
    _, answer = http(cloud, "query", "/v1/query", {"question": "What does express delivery cost?"})
    submission = {"message_id": answer["message_id"], "rating": "down", "reason": "late", "escalate": True}
    kill_while_escalating(cloud, submission, remaining_ms=0)  # its time was up
    time.sleep(0.01)  # past the dead invocation's deadline
    status, body = http(cloud, "feedback", "/v1/feedback", submission)
    assert status == 200 and body["escalated"] and body["ticket_id"], body
    messages = cloud["sqs"].receive_message(QueueUrl=cloud["inbox"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["message_id"] for m in messages] == [answer["message_id"]]
    stored = boto3.resource("dynamodb").Table("feedback").get_item(Key={"message_id": answer["message_id"]})
    assert stored["Item"]["reason"] == "late"


def test_feedback_for_an_unknown_message_is_a_404(ingested: dict[str, Any], cloud: dict[str, Any]) -> None:
    status, body = http(cloud, "feedback", "/v1/feedback", {"message_id": "nope", "rating": "up"})
    assert status == 404 and "message_id" in body["error"]["message"]
    assert "nope" not in body["error"]["message"]  # the caller's value is not repeated (nor logged)


def test_opensearch_timeout_is_a_503_logged_and_counted(
    ingested: dict[str, Any],
    cloud: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    cloud["cluster"].failures.extend([timeout(), timeout(), timeout()])  # the client retries twice
    status, body = http(cloud, "retrieval", "/v1/retrieve", {"query": "returns"})
    assert (status, body["error"]["code"]) == (503, "dependency_unavailable")
    assert "search cluster did not answer" in body["error"]["message"]
    assert '"DependencyFailures":[1.0]' in capsys.readouterr().out
    assert "search cluster unreachable" in caplog.messages


def test_bedrock_throttle_is_a_503(ingested: dict[str, Any], cloud: dict[str, Any]) -> None:
    cloud["bedrock"].throttle = True
    try:
        status, body = http(cloud, "query", "/v1/query", {"question": "returns?"})
    finally:
        cloud["bedrock"].throttle = False
    assert status == 503 and "Bedrock embedding model is unavailable" in body["error"]["message"]


def test_a_turn_written_by_a_racing_request_is_a_409_logged_and_counted(
    ingested: dict[str, Any],
    cloud: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, first = http(cloud, "query", "/v1/query", {"question": "How many days to return jackets?"})
    cloud["race"].armed = True
    status, body = http(
        cloud,
        "query",
        "/v1/query",
        {"question": "And for shoes?", "conversation_id": first["conversation_id"]},
    )
    assert (status, body["error"]["code"]) == (409, "conflict"), body
    assert "changed by another request" in body["error"]["message"]
    assert '"Conflicts":[1.0]' in capsys.readouterr().out
    assert "request failed" in caplog.messages
    turn = (
        boto3.resource("dynamodb")
        .Table("conversations")
        .get_item(Key={"conversation_id": first["conversation_id"], "turn": 2})["Item"]
    )
    assert turn["message_id"] == "the-other-request"  # the other request's turn is kept


def test_failed_escalation_keeps_the_feedback(ingested: dict[str, Any], cloud: dict[str, Any]) -> None:
    _, answer = http(cloud, "query", "/v1/query", {"question": "How many days to return jackets?"})
    boto3.client("sns").delete_topic(TopicArn=get_settings().escalation_topic_arn)
    status, body = http(
        cloud,
        "feedback",
        "/v1/feedback",
        {"message_id": answer["message_id"], "rating": "down", "escalate": True},
    )
    assert status == 503 and "escalation topic" in body["error"]["message"]
    stored = boto3.resource("dynamodb").Table("feedback").get_item(Key={"message_id": answer["message_id"]})
    assert stored["Item"]["rating"] == "down"


def test_export_writes_the_interactions_to_the_training_bucket(
    ingested: dict[str, Any], cloud: dict[str, Any]
) -> None:
    result = cloud["handlers"]["export"]({"prefix": "exports/run-1/"}, FakeLambdaContext())
    assert result["uri"] == "s3://training-data/exports/run-1/interactions.jsonl" and result["records"] >= 3
    raw = (
        boto3.client("s3")
        .get_object(Bucket="training-data", Key="exports/run-1/interactions.jsonl")["Body"]
        .read()
    )
    records = [json.loads(line) for line in raw.decode().splitlines()]
    assert any(r["rating"] == "down" and r["escalated"] for r in records)
    assert pseudonymise("u-1", PSEUDONYM_KEY.encode()) in {r["user_id"] for r in records}
    assert "u-1" not in raw.decode()
