"""Privacy, locally: PII reaches no store, log, trace or export; erasure through the API and the
CLI forgets one user and nobody else (A1 = A0 - B0, B1 = 0, C1 = C0); files are private."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from functions.cli import EXIT_OK, main
from functions.feedback.pseudonyms import KEY_FILE
from functions.observability import tracer
from functions.services import Services
from tests.privacy_fixtures import (
    PII,
    Census,
    RecordingTraceProvider,
    captured_log,
    pii_params,
    raw_forms,
    sentence,
)

USERS = ("jane", "joe", "ann")


@pytest.fixture(autouse=True)
def cli_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() switches metrics off and the log to warnings outside `serve`; here both stay on, and
    the switches do not outlive the test."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    with captured_log() as buffer:
        yield buffer


def ask(client: TestClient, question: str, **extra: str) -> dict:
    response = client.post("/v1/query", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def every_sqlite_row(services: Services) -> str:
    connection = sqlite3.connect(services.settings.database_path)
    tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    rows = {table: connection.execute(f"SELECT * FROM {table}").fetchall() for table in tables}
    connection.close()
    return json.dumps(rows, default=str)


@pytest.mark.parametrize("kind", pii_params())
def test_pii_goes_through_every_door_and_is_found_nowhere(  # noqa: PLR0917 - pytest fixtures
    kind: str,
    client: TestClient,
    services: Services,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    log: io.StringIO,
) -> None:
    # GIVEN a trace recorder in place of X-Ray, and metrics flushed as EMF to the same log
    traces = RecordingTraceProvider()
    monkeypatch.setattr(tracer, "provider", traces)
    text = sentence(kind)
    # WHEN the value goes through every route a user reaches ...
    answer = ask(client, text, user_id="jane")
    assert client.post("/v1/retrieve", json={"query": text}).status_code == 200
    assert client.post("/v1/guardrails/check", json={"text": text, "stage": "input"}).status_code == 200
    feedback = {"rating": "down", "reason": text[:200], "comment": text, "escalate": True, "user_id": "jane"}
    assert (
        client.post("/v1/feedback", json={"message_id": answer["message_id"], **feedback}).status_code == 200
    )
    assert client.post("/v1/feedback", json={"message_id": PII[kind][:128], "rating": "up"}).status_code in (
        404,
        422,
    )
    erased = client.delete(f"/v1/users/{quote(PII[kind], safe='')}/data")
    assert erased.status_code == 200, erased.text  # any stored user id can be erased
    from functions.observability import metrics

    metrics.flush_metrics(raise_on_empty_metrics=False)
    emf, _ = capsys.readouterr()
    assert '"_aws"' in emf, "no EMF line was flushed"
    # ... and the CLI: a question, an export, an erasure naming the value as a user id
    data = ["--data-dir", str(services.settings.data_dir)]
    assert main(["ask", text, *data]) == EXIT_OK
    assert main(["export", *data]) == EXIT_OK
    assert main(["erase", PII[kind], *data]) == EXIT_OK
    # THEN no raw form of it is in the log (Powertools JSON and EMF lines), the traces, any SQLite
    # table or the export
    out, err = capsys.readouterr()
    export = (services.settings.exports_dir / "interactions.jsonl").read_text(encoding="utf-8")
    assert '"message":"feedback recorded"' in log.getvalue()
    places = {
        "log": log.getvalue() + emf + out + err,
        "traces": traces.dump(),
        "sqlite": every_sqlite_row(services),
        "export": export,
    }
    assert traces.segments, "the tracer opened no subsegment: the recorder is not in place"
    for place, content in places.items():
        for form in raw_forms(PII[kind]):
            assert form not in content, f"{kind} found in {place}"


def test_traces_hold_no_question_or_answer(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    traces = RecordingTraceProvider()
    monkeypatch.setattr(tracer, "provider", traces)
    answer = ask(client, "How many days do I have to return unworn items?")
    assert [segment.name for segment in traces.segments] == [
        "## functions.rag.pipeline.AnswerPipeline.answer"
    ]
    assert "return unworn" not in traces.dump() and answer["answer"][:20] not in traces.dump()


def test_a_404_for_an_unknown_message_id_does_not_log_it(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    with captured_log() as log:
        response = client.post("/v1/feedback", json={"message_id": "jane.doe@example.com", "rating": "up"})
    assert response.status_code == 404
    out, err = capsys.readouterr()
    assert '"message":"request failed"' in log.getvalue()
    assert "jane.doe" not in log.getvalue() + out + err + response.text


def test_the_database_export_and_key_are_private_whatever_the_umask(
    tmp_path: Path, services: Services, client: TestClient
) -> None:
    ask(client, "Can I return swimwear?", user_id="jane")
    old = os.umask(0o000)
    try:
        main(["export", "--data-dir", str(services.settings.data_dir)])
    finally:
        os.umask(old)
    data = services.settings.data_dir
    for path in (data / KEY_FILE, services.settings.database_path, data / "exports" / "interactions.jsonl"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    wal = Path(f"{services.settings.database_path}-wal")
    assert not wal.exists() or stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_a_world_readable_database_from_before_is_tightened(tmp_path: Path) -> None:
    from functions.feedback.pseudonyms import pseudonymiser
    from functions.feedback.sqlite_store import SQLiteStore

    path = tmp_path / "old.sqlite3"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    SQLiteStore(path, pseudonymiser(lambda: b"k")).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_feedback_reason_is_redacted_like_the_comment(client: TestClient, services: Services) -> None:
    message_id = ask(client, "Which cards do you accept?")["message_id"]
    client.post(
        "/v1/feedback",
        json={
            "message_id": message_id,
            "rating": "down",
            "reason": "card 4111 1111 1111 1111",
            "escalate": True,
        },
    )
    stored = services.feedback_store.get_feedback(message_id)
    assert stored is not None and stored.reason == "card [CREDIT_CARD_1]"
    assert services.sqlite.open_escalations()[0]["reason"] == "card [CREDIT_CARD_1]"


def test_user_ids_are_stored_as_pseudonyms(client: TestClient, services: Services) -> None:
    ask(client, "Can I return swimwear?", user_id="jane-42")
    rows = every_sqlite_row(services)
    assert "jane-42" not in rows and services.pseudonymiser("jane-42") in rows


# --- erasure ---------------------------------------------------------------------------------


def fill(client: TestClient) -> dict[str, str]:
    """Each user starts two conversations, rates and escalates; then an export. The last
    conversation of each user, by id."""
    last = {}
    for user in USERS:
        for question in ("Can I return swimwear?", "Which cards do you accept?"):
            first = ask(client, question, user_id=user)
            follow_up = ask(
                client, "And express shipping?", user_id=user, conversation_id=first["conversation_id"]
            )
            client.post(
                "/v1/feedback",
                json={
                    "message_id": follow_up["message_id"],
                    "rating": "down",
                    "reason": "meh",
                    "escalate": True,
                    "user_id": user,
                },
            )
            last[user] = first["conversation_id"]
    ask(client, "Do you ship to Norway?")  # nobody's
    return last


def count_export_rows(services: Services, pseudonym: str | None) -> int:
    """Rows in the export, the user's (or all with None)."""
    exports = services.settings.exports_dir / "interactions.jsonl"
    rows = [json.loads(line) for line in exports.read_text().splitlines()] if exports.exists() else []
    return sum(1 for row in rows if pseudonym is None or row["user_id"] == pseudonym)


def census(services: Services, user: str) -> Census:
    """A: every record in the stores; B: the user's; C: the other users' (anonymous ones are in A only)."""
    connection = sqlite3.connect(services.settings.database_path)

    def count(pseudonym: str | None) -> int:
        mine = "SELECT conversation_id FROM messages WHERE user_id = ?"
        arguments = (pseudonym,)
        total = 0
        for sql in (
            f"SELECT COUNT(*) FROM messages WHERE conversation_id IN ({mine})",
            f"SELECT COUNT(*) FROM feedback WHERE message_id IN (SELECT message_id FROM messages WHERE conversation_id IN ({mine}))",
            f"SELECT COUNT(*) FROM escalations WHERE conversation_id IN ({mine})",
            "SELECT COUNT(*) FROM idempotency WHERE json_extract(response_data, '$.message_id') IN "
            f"(SELECT message_id FROM messages WHERE conversation_id IN ({mine}))",
        ):
            total += connection.execute(sql, arguments).fetchone()[0]
        return total + count_export_rows(services, pseudonym)

    tables = ("messages", "feedback", "escalations", "idempotency")
    result = Census(
        all=sum(connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)
        + count_export_rows(services, None),
        user=count(services.pseudonymiser(user)),
        others=sum(count(services.pseudonymiser(other)) for other in USERS if other != user),
    )
    connection.close()
    return result


def test_erasure_through_the_api_forgets_the_user_and_nobody_else(
    client: TestClient, services: Services
) -> None:
    last = fill(client)
    assert main(["export", "--data-dir", str(services.settings.data_dir)]) == EXIT_OK
    before = census(services, "jane")
    assert before.user > 0 and before.others > 0

    response = client.delete("/v1/users/jane/data")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["counts"] == {
        "conversations": 2,
        "messages": 4,
        "feedback": 2,
        "escalations": 2,
        "idempotency_records": 2,
        "export_rows": 4,
    }
    assert (
        body["total"] - body["counts"]["conversations"] == before.user and body["requested_by"] == "operator"
    )
    after = census(services, "jane")
    assert (after.all, after.user, after.others) == (before.all - before.user, 0, before.others)
    # a second call finds nothing; each call left an audit record without the user's id
    again = client.delete("/v1/users/jane/data").json()
    assert again["total"] == 0 and set(again["counts"].values()) == {0}
    audit = services.sqlite.erasures()
    assert [record["erasure_id"] for record in audit] == [body["erasure_id"], again["erasure_id"]]
    assert "jane" not in json.dumps(audit)
    # the other users' conversations go on
    joe = ask(client, "And how long does it take?", user_id="joe", conversation_id=last["joe"])
    assert (
        client.post(
            "/v1/feedback", json={"message_id": joe["message_id"], "rating": "up", "user_id": "joe"}
        ).status_code
        == 200
    )


def test_erasure_through_the_cli(
    client: TestClient, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(client)
    data = ["--data-dir", str(services.settings.data_dir)]
    before = census(services, "joe")
    capsys.readouterr()
    assert main(["erase", "joe", *data, "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["total"] - report["counts"]["conversations"] == before.user
    assert report["counts"]["messages"] == 4
    after = census(services, "joe")
    assert (after.all, after.user, after.others) == (before.all - before.user, 0, before.others)
    assert main(["erase", "joe", *data]) == EXIT_OK
    assert capsys.readouterr().out.startswith("erased 0 conversations, 0 messages")


def test_purge_deletes_old_conversations_only(
    client: TestClient, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(client)
    connection = sqlite3.connect(services.settings.database_path)
    connection.execute(
        "UPDATE messages SET created_at = '2020-01-01T00:00:00+00:00' WHERE user_id = ?",
        (services.pseudonymiser("ann"),),
    )
    connection.commit()
    connection.close()
    before = census(services, "ann")
    capsys.readouterr()
    assert main(["purge", "--older-than", "30", "--data-dir", str(services.settings.data_dir)]) == EXIT_OK
    assert "4 messages" in capsys.readouterr().out
    after = census(services, "ann")
    assert (after.user, after.others) == (0, before.others)
    with pytest.raises(SystemExit):
        main(["purge", "--older-than", "0"])


def test_the_stats_route_returns_what_the_cli_prints(
    client: TestClient, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(client)
    response = client.get("/v1/stats")
    assert response.status_code == 200
    capsys.readouterr()
    assert main(["stats", "--json", "--data-dir", str(services.settings.data_dir)]) == EXIT_OK
    assert response.json() == json.loads(capsys.readouterr().out)
    assert response.json()["messages"] == 13 and response.json()["open_escalations"] == 6


def test_the_server_purges_when_it_starts_and_then_daily() -> None:
    from datetime import datetime, timedelta

    from functions.feedback.records import utc_now
    from functions.privacy.retention import purge_daily

    cutoffs: list[datetime] = []
    purged = threading.Event()

    class Store:
        def purge(self, older_than: datetime) -> dict[str, int]:
            cutoffs.append(older_than)
            purged.set()
            return {"messages": 0}

    thread = purge_daily(Store(), 30)
    assert purged.wait(5) and thread.daemon  # a daemon: it never keeps the server from exiting
    expected = utc_now() - timedelta(days=30)
    assert expected - timedelta(seconds=5) < cutoffs[0] <= expected
