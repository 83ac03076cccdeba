"""Client secrets are stored encrypted with a key derived from SECRET_KEY."""

from __future__ import annotations

import pytest

from scalemark.identity.secrets import (
    SecretDecryptionError,
    decrypt_secret,
    derive_key,
    encrypt_secret,
)


def test_round_trip_with_fresh_ciphertexts() -> None:
    first = encrypt_secret("s3cr3t-value")
    second = encrypt_secret("s3cr3t-value")
    assert first != second and "s3cr3t" not in first
    assert decrypt_secret(first) == decrypt_secret(second) == "s3cr3t-value"


def test_another_secret_key_or_a_changed_ciphertext_does_not_decrypt() -> None:
    token = encrypt_secret("value", secret_key="a" * 40)
    with pytest.raises(SecretDecryptionError):
        decrypt_secret(token, secret_key="b" * 40)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(SecretDecryptionError):
        decrypt_secret(tampered, secret_key="a" * 40)
    with pytest.raises(SecretDecryptionError):
        decrypt_secret("not a token", secret_key="a" * 40)


def test_key_derivation_is_stable_and_separated_by_purpose() -> None:
    assert derive_key("x" * 40) == derive_key("x" * 40)
    assert derive_key("x" * 40) != derive_key("y" * 40)
    assert derive_key("x" * 40) != derive_key("x" * 40, info=b"another purpose")
