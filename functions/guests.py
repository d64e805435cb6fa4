"""Guest sessions: a visitor who is not signed in gets a short-lived token, signed with
HMAC-SHA256, and may ask a limited number of questions with it, so a public help page cannot run
up the bill. Signed-in customers keep their Cognito JWT and the per-user limit.

A token is `guest.<session id>.<expiry, epoch seconds>.<signature>`; nothing is stored until the
session asks, and then only its two counters (the quota port of `functions.limits`, keyed by the
session, forgotten when the token expires): its questions, and the prompt and completion tokens
of its answers (the model's usage report). A session over either limit is refused its next
question; each answer is capped at `max_new_tokens`, so a session spends at most one answer's
worth past its token budget. Written by hand, not with PyJWT (which verifies the customers'
Cognito tokens, `functions.customers`): a token that only this service issues and reads needs no
key sets or algorithm negotiation, only an HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from functions.errors import RateLimitedError, UnauthorizedError
from functions.limits.quota import CounterStore

TOKEN_PREFIX = "guest."


@dataclass(frozen=True)
class GuestSession:
    session_id: str
    expires_at: int
    token: str

    @property
    def user_id(self) -> str:
        """Whose conversations these are: the session, so ownership holds between guests too."""
        return f"guest:{self.session_id}"


@dataclass(frozen=True)
class GuestSessions:
    """Issues and checks guest tokens, and counts each session's questions."""

    key: bytes
    counters: CounterStore
    lifetime_seconds: int
    questions: int
    tokens: int
    clock: Callable[[], float] = time.time

    def issue(self) -> GuestSession:
        session_id = secrets.token_hex(16)
        expires_at = int(self.clock()) + self.lifetime_seconds
        payload = f"{TOKEN_PREFIX}{session_id}.{expires_at}"
        return GuestSession(session_id, expires_at, f"{payload}.{self._sign(payload)}")

    def verify(self, token: str) -> GuestSession:
        """The session a token names, or UnauthorizedError when it is forged, malformed or expired."""
        payload, _, signature = token.rpartition(".")
        parts = payload.removeprefix(TOKEN_PREFIX).split(".")
        if not payload.startswith(TOKEN_PREFIX) or len(parts) != 2 or not parts[1].isdigit():
            raise UnauthorizedError("the guest token is malformed: start a new guest session")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise UnauthorizedError("the guest token is not valid: start a new guest session")
        session_id, expires_at = parts[0], int(parts[1])
        if expires_at <= self.clock():
            raise UnauthorizedError("the guest session has expired: start a new one")
        return GuestSession(session_id, expires_at, token)

    def count_question(self, session: GuestSession) -> None:
        """One more question for `session`; RateLimitedError once it has asked its share or spent
        its token budget (an `ADD` of zero reads the token counter in the same atomic way)."""
        spent = self.counters.increment(self._tokens_key(session), expires_at=session.expires_at, amount=0)
        if spent >= self.tokens:
            raise RateLimitedError(
                f"this guest session has used its budget of {self.tokens} tokens: sign in, or ask a person",
                retry_after_seconds=self._remaining(session),
            )
        asked = self.counters.increment(f"guest:{session.session_id}", expires_at=session.expires_at)
        if asked > self.questions:
            raise RateLimitedError(
                f"this guest session has asked its {self.questions} questions: sign in, or ask a person",
                retry_after_seconds=self._remaining(session),
            )

    def count_tokens(self, session: GuestSession, usage: Mapping[str, int]) -> None:
        """Add an answer's prompt and completion tokens (LangChain's usage keys) to the session's
        budget; the next question is refused once the budget is spent."""
        amount = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
        if amount > 0:
            self.counters.increment(self._tokens_key(session), expires_at=session.expires_at, amount=amount)

    def _tokens_key(self, session: GuestSession) -> str:
        return f"guest-tokens:{session.session_id}"

    def _remaining(self, session: GuestSession) -> int:
        return max(1, session.expires_at - int(self.clock()))

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
