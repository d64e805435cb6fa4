"""Cognito tokens verified by the app itself: signature against the pool's JWKS (fetched once),
expiry, issuer, kind of token and app client, as API Gateway's JWT authorizer checks them."""

from __future__ import annotations

import pytest

from functions.customers import CognitoTokens, jwks_url
from functions.errors import UnauthorizedError
from tests.fake_cognito import CLIENT_ID, ISSUER, FakeUserPool, new_key


@pytest.fixture(scope="module")
def pool() -> FakeUserPool:
    return FakeUserPool()


def test_access_and_id_tokens_name_their_subject_and_the_key_set_is_fetched_once() -> None:
    pool = FakeUserPool()
    assert pool.tokens.subject(pool.token("alice")) == "alice"
    assert pool.tokens.subject(pool.token("bob", token_use="id")) == "bob"
    assert pool.tokens.subject(pool.token("alice")) == "alice"
    assert pool.jwks.fetches == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": new_key()}, "not valid (Signature verification failed)"),
        ({"expires_in": -60}, "has expired"),
        ({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"}, "not issued by"),
        ({"client_id": "another-client"}, "another app client"),
        ({"token_use": "refresh"}, "access or ID token"),
        ({"token_use": "id", "aud": "another-client"}, "another app client"),
    ],
    ids=["forged", "expired", "wrong-issuer", "wrong-client", "wrong-use", "id-wrong-audience"],
)
def test_a_bad_token_is_refused_with_what_is_wrong(
    pool: FakeUserPool, change: dict[str, object], message: str
) -> None:
    token = pool.token("mallory", **change)  # type: ignore[arg-type]
    with pytest.raises(UnauthorizedError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pool.tokens.subject(token)


def test_a_malformed_token_is_refused(pool: FakeUserPool) -> None:
    with pytest.raises(UnauthorizedError, match="not valid"):
        pool.tokens.subject("not-a-jwt")


def test_the_key_set_is_read_beneath_the_issuer() -> None:
    tokens = CognitoTokens.for_user_pool(ISSUER, CLIENT_ID)
    assert tokens.keys.uri == jwks_url(ISSUER) == f"{ISSUER}/.well-known/jwks.json"
