"""User ids are replaced by an HMAC keyed with a secret before any store keeps them (the stores
apply it at their boundary), so neither the conversation and feedback stores nor the training
export carry a direct identifier, and nobody without the key can test a guessed id against them.
Ownership checks and erasure compare pseudonyms with pseudonyms.

The key must stay the same from one export to the next (the same user keeps one pseudonym across
data sets), so it is not rotated. In AWS it is a Secrets Manager secret the stack creates; locally
it is a random file in the data directory, readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from functions import aws

KEY_FILE = "pseudonym.key"

#: A user id -> its pseudonym (None stays None); the stores take one, bound to the stack's key.
Pseudonymiser = Callable[[str | None], str | None]


def pseudonymise(user_id: str | None, key: bytes) -> str | None:
    if user_id is None:
        return None
    return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()[:32]


def pseudonymiser(key: Callable[[], bytes]) -> Pseudonymiser:
    """`pseudonymise` with the key fetched on first use (a function that never stores a user id
    never reads the secret)."""

    def apply(user_id: str | None) -> str | None:
        return None if user_id is None else pseudonymise(user_id, key())

    return apply


def secret_key(secret_arn: str, what: str = "the pseudonymisation secret") -> bytes:
    """The key stored in Secrets Manager."""
    try:
        secret: str = aws.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    except Exception as error:
        raise aws.translate(error, what) from error
    return secret.encode()


def local_key(data_dir: Path, file_name: str = KEY_FILE) -> bytes:
    """The key file in `data_dir`, created (32 random bytes, mode 0600) when it is missing.

    The key is written to a private temporary file and then linked into place, which fails when
    the file exists: two processes creating it at once agree on one key, and none ever reads a
    file that is still empty."""
    path = Path(data_dir) / file_name
    if not path.exists():
        draft = path.with_name(f"{file_name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(descriptor, 0o600)  # the umask can only take bits away; this makes the mode exact
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_bytes(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won; its key is the one
        finally:
            draft.unlink()
    return path.read_bytes()
