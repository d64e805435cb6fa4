"""The chat widget on the demo store page, in Chromium, against the real local server."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from functions.contract import TOKEN_HEADER
from tests.e2e.conftest import AXE

pytestmark = pytest.mark.e2e

RETURN_QUESTION = "How many days do I have to return unworn items?"


def widget(page: Any) -> Any:
    return page.locator("genai-stack-chat")


def open_chat(page: Any) -> None:
    page.get_by_role("button", name="Chat with us").click()
    page.get_by_role("dialog", name="Northwind help").wait_for()


def ask(page: Any, question: str) -> Any:
    """Ask through the composer; the finished answer (the log's last assistant message)."""
    answers = page.locator("div.msg.assistant")
    before = answers.count()
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Send", exact=True).click()
    answer = answers.nth(before)
    answer.locator(".rate").wait_for()  # the rating controls come with the final event
    return answer


def database(server: tuple[str, Path]) -> sqlite3.Connection:
    return sqlite3.connect(server[1] / "genai-stack.sqlite3")


def test_ask_and_see_the_streamed_answer_with_a_source(page: Any) -> None:
    streamed: list[str] = []
    page.on("response", lambda response: streamed.append(response.url))
    credentials: list[str] = []
    page.on(
        "request",
        lambda request: (
            request.url.endswith("/v1/query/stream")
            and credentials.append(request.headers.get(TOKEN_HEADER, ""))
        ),
    )
    open_chat(page)
    answer = ask(page, RETURN_QUESTION)
    assert "45 days" in answer.inner_text()
    link = answer.get_by_role("navigation", name="Sources").get_by_role("link").first
    assert link.inner_text().strip()  # the source's title
    assert re.search(r"/kb/mini_kb/returns\.md$", link.get_attribute("href") or "")
    assert any(url.endswith("/v1/query/stream") for url in streamed)
    assert not any(url.endswith("/v1/query") for url in streamed)
    assert credentials and credentials[0].startswith("guest.")  # a visitor gets a guest session


def test_follow_up_stays_in_the_conversation(page: Any, server: tuple[str, Path]) -> None:
    open_chat(page)
    ask(page, RETURN_QUESTION)
    follow_up = ask(page, "Which cards do you accept?")
    assert follow_up.inner_text().strip()
    saved = json.loads(page.evaluate("Object.values(localStorage)[0]"))
    assert [turn["role"] for turn in saved["turns"]] == ["user", "assistant"] * 2
    with database(server) as db:
        turns = db.execute(
            "SELECT turn FROM messages WHERE conversation_id = ? ORDER BY turn", (saved["conversationId"],)
        ).fetchall()
    assert [turn for (turn,) in turns] == [1, 2]


def test_rate_an_answer_with_a_reason_and_a_comment(page: Any, server: tuple[str, Path]) -> None:
    open_chat(page)
    answer = ask(page, RETURN_QUESTION)
    answer.get_by_role("button", name="Not helpful").click()
    answer.get_by_label("What was wrong?").select_option("Wrong or outdated")
    answer.get_by_label("Comment (optional)").fill("I was told 14 days in the shop")
    answer.get_by_role("button", name="Send feedback").click()
    page.get_by_text("Thanks for your feedback.").wait_for()
    assert answer.get_by_role("button", name="Not helpful").get_attribute("aria-pressed") == "true"
    with database(server) as db:
        rows = db.execute("SELECT rating, reason, comment FROM feedback").fetchall()
    assert ("down", "Wrong or outdated", "I was told 14 days in the shop") in rows


def test_talk_to_a_person_escalates_with_the_transcript(page: Any, server: tuple[str, Path]) -> None:
    open_chat(page)
    ask(page, "Can I return swimwear?")
    page.get_by_role("button", name="Talk to a person").click()
    page.get_by_label("Anything you want the agent to know? (optional)").fill("It arrived damaged")
    page.get_by_role("form", name="Talk to a person").get_by_role("button", name="Talk to a person").click()
    notice = page.get_by_text(re.compile("A person from our team will take over. Ticket [0-9a-f]{32}"))
    notice.wait_for()
    ticket = notice.inner_text().rsplit(" ", 1)[-1]
    with database(server) as db:
        (comment,) = db.execute("SELECT comment FROM escalations WHERE ticket_id = ?", (ticket,)).fetchone()
    assert comment.startswith("It arrived damaged") and "You: Can I return swimwear?" in comment


def test_the_conversation_survives_a_reload(page: Any) -> None:
    open_chat(page)
    ask(page, RETURN_QUESTION)
    page.reload()
    page.get_by_role("dialog", name="Northwind help").wait_for()  # it was open: it opens again
    assert page.locator("div.msg.user").inner_text().endswith(RETURN_QUESTION)
    assert page.locator("div.msg.assistant .sources a").count() >= 1


def test_a_new_guest_session_continues_in_a_new_conversation(page: Any) -> None:
    # GIVEN a conversation, whose guest session has ended (the widget starts a new one)
    open_chat(page)
    ask(page, RETURN_QUESTION)
    key = page.evaluate("Object.keys(localStorage)[0]")
    saved = json.loads(page.evaluate(f"localStorage.getItem({json.dumps(key)})"))
    without_guest = {name: value for name, value in saved.items() if name != "guest"}
    page.evaluate(f"localStorage.setItem({json.dumps(key)}, {json.dumps(json.dumps(without_guest))})")
    page.reload()
    page.get_by_role("dialog", name="Northwind help").wait_for()
    # WHEN the visitor asks again: the old conversation is another session's (a 404)
    follow_up = ask(page, "Which cards do you accept?")
    # THEN the question is answered in a new conversation, not shown as an error
    assert follow_up.locator(".error").count() == 0
    assert follow_up.locator(".sources a").count() >= 1
    now = json.loads(page.evaluate(f"localStorage.getItem({json.dumps(key)})"))
    assert now["conversationId"] != saved["conversationId"]
    assert now["guest"]["token"] != saved["guest"]["token"]


def test_an_api_error_shows_a_readable_message(page: Any) -> None:
    error = {
        "error": {
            "code": "dependency_unavailable",
            "message": "the search index is unavailable right now; please retry",
        }
    }
    for route in ("**/v1/query/stream", "**/v1/query"):
        page.route(
            route, lambda r: r.fulfill(status=503, content_type="application/json", body=json.dumps(error))
        )
    open_chat(page)
    page.get_by_label("Your question").fill(RETURN_QUESTION)
    page.keyboard.press("Enter")
    message = page.locator("div.msg.assistant p.error")
    message.wait_for()
    assert message.inner_text() == (
        "Sorry, the assistant could not answer right now: the search index is unavailable right now; please retry."
    )
    page.unroute("**/v1/query/stream")
    page.unroute("**/v1/query")
    assert "45 days" in ask(page, RETURN_QUESTION).inner_text()  # the widget recovers


def test_a_failed_stream_falls_back_to_the_plain_query(page: Any) -> None:
    page.route("**/v1/query/stream", lambda route: route.abort())
    open_chat(page)
    answer = ask(page, RETURN_QUESTION)
    assert "45 days" in answer.inner_text() and answer.locator(".sources a").count() >= 1


def focused(page: Any) -> str:
    """The focused element inside the widget: tag, then its accessible text or label."""
    return page.evaluate(
        """() => {
            const host = document.activeElement;
            const el = host && host.shadowRoot ? host.shadowRoot.activeElement : host;
            if (!el) return "";
            return `${el.tagName.toLowerCase()} ${el.getAttribute("aria-label") || el.textContent || el.id}`.trim();
        }"""
    )


def tab_to(page: Any, pattern: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if re.search(pattern, focused(page)):
            return
    raise AssertionError(f"Tab never reached {pattern!r}; last focus: {focused(page)!r}")


def test_the_whole_flow_with_the_keyboard_alone(page: Any, server: tuple[str, Path]) -> None:
    tab_to(page, "^button Chat with us$")
    page.keyboard.press("Enter")
    assert focused(page) == "textarea question"  # opening moves focus into the composer
    page.keyboard.type(RETURN_QUESTION)
    page.keyboard.press("Enter")
    page.locator("div.msg.assistant .rate").wait_for()
    assert focused(page) == "textarea question"  # focus stays where the next question goes
    tab_to(page, "Not helpful")
    page.keyboard.press("Enter")
    assert focused(page).startswith("select")  # the reason comes first
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.type("keyboard only")
    tab_to(page, "^button Send feedback$", limit=3)
    page.keyboard.press("Enter")
    page.get_by_text("Thanks for your feedback.").wait_for()
    assert focused(page) == "p Thanks for your feedback."
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog").count() == 0
    assert focused(page) == "button Chat with us"  # closing returns focus to the launcher
    with database(server) as db:
        assert db.execute("SELECT reason FROM feedback WHERE comment = 'keyboard only'").fetchone() == (
            "Wrong or outdated",
        )


def test_phone_sized_viewport(phone_page: Any) -> None:
    open_chat(phone_page)
    box = phone_page.get_by_role("dialog", name="Northwind help").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 375, "height": 667}
    answer = ask(phone_page, RETURN_QUESTION)
    answer_box = answer.bounding_box()
    assert answer_box["x"] >= 0 and answer_box["x"] + answer_box["width"] <= 375
    assert phone_page.get_by_role("button", name="Close chat").is_visible()


def test_accessibility_scan_finds_no_serious_violation(page: Any) -> None:
    open_chat(page)
    answer = ask(page, RETURN_QUESTION)
    answer.get_by_role("button", name="Not helpful").click()  # the feedback form is scanned too
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    serious = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    assert results["passes"], "axe ran no rule"


def test_branding_and_language_come_from_attributes(page: Any) -> None:
    page.evaluate(
        """() => {
            document.querySelector("genai-stack-chat").remove();
            const widget = document.createElement("genai-stack-chat");
            for (const [name, value] of Object.entries({
                "api-url": location.origin, title: "Hilfe", color: "#8b1a1a", position: "left",
                lang: "de", greeting: "Willkommen bei Northwind!",
            })) widget.setAttribute(name, value);
            document.body.append(widget);
        }"""
    )
    launcher = page.get_by_role("button", name="Chatten Sie mit uns")
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(139, 26, 26)"
    assert launcher.bounding_box()["x"] < 100  # bottom left
    launcher.click()
    page.get_by_role("dialog", name="Hilfe").wait_for()
    assert page.get_by_text("Willkommen bei Northwind!").is_visible()
    assert page.get_by_label("Ihre Frage").is_visible()
    assert page.get_by_role("button", name="Mit einem Menschen sprechen").is_visible()
