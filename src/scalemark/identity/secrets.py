"""Encryption of stored credentials (identity provider client secrets).

The key is derived from ``SECRET_KEY`` with HKDF-SHA256 and used with Fernet
(AES-128-CBC + HMAC-SHA256, authenticated): a changed or truncated ciphertext, or one made
with another ``SECRET_KEY``, does not decrypt. Plain secrets are never logged, audited or
shown again after they are saved.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from scalemark.settings import get_settings

__all__ = ["SecretDecryptionError", "decrypt_secret", "derive_key", "encrypt_secret"]

_SALT = b"scalemark.identity.secrets.v1"
_INFO = b"identity-provider-client-secret"


class SecretDecryptionError(ValueError):
    """The stored value was not made with this ``SECRET_KEY`` or was altered."""


def derive_key(secret_key: str, *, info: bytes = _INFO) -> bytes:
    """A Fernet key (url-safe base64 of 32 bytes) derived from ``secret_key``."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=info).derive(
        secret_key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    return Fernet(derive_key(secret_key))


def encrypt_secret(plain: str, *, secret_key: str | None = None) -> str:
    """Ciphertext (ASCII) of ``plain``; a fresh IV makes every call's output different."""
    key = secret_key or get_settings().secret_key
    return _fernet(key).encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str, *, secret_key: str | None = None) -> str:
    """The plain secret; raises :class:`SecretDecryptionError` when it cannot be trusted."""
    key = secret_key or get_settings().secret_key
    try:
        return _fernet(key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise SecretDecryptionError("stored secret cannot be decrypted") from exc
