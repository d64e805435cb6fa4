"""Who may review: in the stack, members of the Cognito group `REVIEWERS_GROUP` (the
`cognito:groups` claim of a token API Gateway's JWT authorizer verified); on a laptop, holders of
a reviewer token that `genai-stack review token NAME` signs with a key file in the data directory.

A local token is `reviewer.<name>.<HMAC-SHA256 of "reviewer.<name>">`; it does not expire (the
operator who can read the key file can sign one anyway) and is worth nothing elsewhere: each data
directory has its own key. Written by hand like the guest tokens (`functions.guests`): a token
only this service issues and reads needs an HMAC, not a JWT library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.contract import REVIEWERS_GROUP
from functions.errors import ForbiddenError, UnauthorizedError

KEY_FILE = "reviewer-token.key"
TOKEN_PREFIX = "reviewer."
_NAME = re.compile(r"^[A-Za-z0-9_@-]{1,64}$")


@dataclass(frozen=True)
class ReviewerTokens:
    key: bytes

    def issue(self, name: str) -> str:
        if not _NAME.fullmatch(name):
            raise ValueError("a reviewer's name is 1-64 letters, digits, '_', '-' or '@'")
        payload = f"{TOKEN_PREFIX}{name}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str) -> str:
        """The reviewer a token names, or UnauthorizedError when it is malformed or forged."""
        payload, _, signature = token.rpartition(".")
        name = payload.removeprefix(TOKEN_PREFIX)
        if not payload.startswith(TOKEN_PREFIX) or not _NAME.fullmatch(name):
            raise UnauthorizedError("the reviewer token is malformed: ask the operator for a new one")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise UnauthorizedError("the reviewer token is not valid here: ask the operator for a new one")
        return name

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def groups_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """The `cognito:groups` claim: a list in the token, and the string "[a b]" once API Gateway's
    HTTP API authorizer has passed it on (it flattens array claims)."""
    value = claims.get("cognito:groups")
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.strip().strip("[]").replace(",", " ").split())
    return frozenset(str(group) for group in value)


def reviewer_id(claims: Mapping[str, Any] | None, token: str | None, local: ReviewerTokens) -> str:
    """The acting reviewer's id: the token's `sub` for a member of the reviewers group (behind
    the authorizer), else the name in a valid local reviewer token. UnauthorizedError (401) for no
    credential or a bad reviewer token, ForbiddenError (403) for anyone else who is signed in."""
    if claims is not None:
        if REVIEWERS_GROUP not in groups_of(claims) or not claims.get("sub"):
            raise ForbiddenError(f"reviewing needs membership of the {REVIEWERS_GROUP!r} group")
        return str(claims["sub"])
    if token is None:
        raise UnauthorizedError("reviewing needs a reviewer token (Authorization: Bearer <token>)")
    if not token.startswith(TOKEN_PREFIX):
        raise ForbiddenError("this token is not a reviewer's: reviewing needs a reviewer token")
    return f"local:{local.verify(token)}"
