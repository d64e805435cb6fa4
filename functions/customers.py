"""Signed-in customers' Cognito tokens, verified by the app itself where no API Gateway JWT
authorizer stands in front of it (the streaming function URL behind CloudFront).

The checks are the authorizer's: an RS256 signature by one of the user pool's keys (its JWKS,
fetched on first use and cached by PyJWT's `PyJWKClient`), `exp`, `iss`, and the app client:
`client_id` on an access token, `aud` on an ID token. The token's `sub` then is the acting user,
as behind the authorizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from functions.errors import DependencyUnavailableError, UnauthorizedError

#: How long the key set is kept before it is fetched again; a token signed with a key the cached
#: set lacks (Cognito rotated its keys) refreshes it at once, at most every `cooldown_duration`.
JWKS_LIFESPAN_SECONDS = 3600
JWKS_TIMEOUT_SECONDS = 3.0
#: The claim that names the app client, by kind of token.
CLIENT_CLAIM = {"access": "client_id", "id": "aud"}


def jwks_url(issuer: str) -> str:
    return f"{issuer.rstrip('/')}/.well-known/jwks.json"


@dataclass(frozen=True)
class CognitoTokens:
    issuer: str
    client_id: str
    keys: jwt.PyJWKClient

    @classmethod
    def for_user_pool(cls, issuer: str, client_id: str) -> CognitoTokens:
        keys = jwt.PyJWKClient(
            jwks_url(issuer),
            cache_keys=True,
            lifespan=JWKS_LIFESPAN_SECONDS,
            timeout=JWKS_TIMEOUT_SECONDS,
        )
        return cls(issuer, client_id, keys)

    def subject(self, token: str) -> str:
        """The signed-in user's id (`sub`), or UnauthorizedError saying what is wrong."""
        try:
            key = self.keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWKClientConnectionError as error:
            raise DependencyUnavailableError("the user pool's signing keys could not be fetched") from error
        except jwt.ExpiredSignatureError as error:
            raise UnauthorizedError("the sign-in token has expired: sign in again") from error
        except jwt.InvalidIssuerError as error:
            raise UnauthorizedError("the sign-in token was not issued by this store's user pool") from error
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as error:
            raise UnauthorizedError(f"the sign-in token is not valid ({error}): sign in again") from error
        client_claim = CLIENT_CLAIM.get(str(claims["token_use"]))
        if client_claim is None:
            raise UnauthorizedError("the sign-in token must be a Cognito access or ID token")
        if claims.get(client_claim) != self.client_id:
            raise UnauthorizedError("the sign-in token was issued to another app client")
        return str(claims["sub"])
