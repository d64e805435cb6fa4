"""A stand-in Cognito user pool for tests: an RSA key made here, its JWKS served from memory
(no network), and tokens shaped like Cognito's access and ID tokens."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from functions.customers import CognitoTokens, jwks_url

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool"
CLIENT_ID = "widget-client"
KEY_ID = "test-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class InMemoryJWKS(jwt.PyJWKClient):
    """PyJWT's own client (its caching included), reading the key set from memory; counts fetches."""

    def __init__(self, key: rsa.RSAPrivateKey, key_id: str = KEY_ID) -> None:
        super().__init__(jwks_url(ISSUER), cache_keys=True)
        public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        self.key_set = {"keys": [{**public, "kid": key_id, "use": "sig", "alg": "RS256"}]}
        self.fetches = 0

    def fetch_data(self) -> Any:
        self.fetches += 1
        return self.key_set


class FakeUserPool:
    def __init__(self) -> None:
        self.key = new_key()
        self.jwks = InMemoryJWKS(self.key)
        self.tokens = CognitoTokens(ISSUER, CLIENT_ID, self.jwks)

    def token(
        self,
        sub: str,
        *,
        token_use: str = "access",
        key: rsa.RSAPrivateKey | None = None,
        expires_in: int = 3600,
        **claims: Any,
    ) -> str:
        """A token as Cognito signs it: `client_id` on an access token, `aud` on an ID token."""
        now = int(time.time())
        client = {"client_id": CLIENT_ID} if token_use == "access" else {"aud": CLIENT_ID}
        payload = {
            "sub": sub,
            "iss": ISSUER,
            "token_use": token_use,
            "iat": now,
            "exp": now + expires_in,
            **client,
            **claims,
        }
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": KEY_ID})
