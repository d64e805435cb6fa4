"""Guest tokens: signed, expiring, and each session's questions counted through the quota port."""

from __future__ import annotations

import pytest

from functions.errors import RateLimitedError, UnauthorizedError
from functions.guests import GuestSessions
from functions.limits.embedded import InMemoryCounterStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def sessions(clock: Clock, questions: int = 2, key: bytes = b"k" * 32, tokens: int = 10_000) -> GuestSessions:
    return GuestSessions(
        key,
        InMemoryCounterStore(clock),
        lifetime_seconds=600,
        questions=questions,
        tokens=tokens,
        clock=clock,
    )


def test_an_issued_token_verifies_to_its_session() -> None:
    clock = Clock()
    guests = sessions(clock)
    issued = guests.issue()
    assert issued.token.startswith("guest.") and issued.expires_at == 1_000_600
    assert guests.verify(issued.token) == issued
    assert issued.user_id == f"guest:{issued.session_id}"
    assert guests.issue().session_id != issued.session_id


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: t.replace(".1000600.", ".1999999."),  # expiry pushed out
        lambda t: "guest." + "0" * 32 + t[len("guest.") + 32 :],  # another session
        lambda t: t.rsplit(".", 1)[0],  # no signature
        lambda t: "x" + t,
    ],
)
def test_a_tampered_token_is_refused(tamper: object) -> None:
    guests = sessions(Clock())
    token = guests.issue().token
    with pytest.raises(UnauthorizedError):
        guests.verify(tamper(token))  # type: ignore[operator]


def test_a_token_signed_with_another_key_is_refused() -> None:
    clock = Clock()
    token = sessions(clock, key=b"a" * 32).issue().token
    with pytest.raises(UnauthorizedError, match="not valid"):
        sessions(clock, key=b"b" * 32).verify(token)


def test_an_expired_token_is_refused() -> None:
    clock = Clock()
    guests = sessions(clock)
    token = guests.issue().token
    clock.now += 600
    with pytest.raises(UnauthorizedError, match="expired"):
        guests.verify(token)


def test_a_session_may_ask_its_questions_and_no_more() -> None:
    clock = Clock()
    guests = sessions(clock, questions=2)
    first, second = guests.issue(), guests.issue()
    guests.count_question(first)
    guests.count_question(first)
    clock.now += 100
    with pytest.raises(RateLimitedError) as refused:
        guests.count_question(first)
    assert refused.value.retry_after_seconds == 500  # until the session ends
    guests.count_question(second)  # another session has its own count


def test_a_session_over_its_token_budget_is_refused_its_next_question() -> None:
    clock = Clock()
    guests = sessions(clock, questions=10, tokens=100)
    spender, other = guests.issue(), guests.issue()
    guests.count_question(spender)
    guests.count_tokens(spender, {"input_tokens": 60, "output_tokens": 30, "total_tokens": 90})
    guests.count_question(spender)  # 90 of 100 spent: still under the budget
    guests.count_tokens(spender, {"input_tokens": 8, "output_tokens": 2})
    with pytest.raises(RateLimitedError) as refused:
        guests.count_question(spender)
    assert refused.value.message.startswith("this guest session has used its budget of 100 tokens")
    assert refused.value.retry_after_seconds == 600
    guests.count_question(other)  # each session has its own budget
