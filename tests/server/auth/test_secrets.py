"""auth/secrets.py: tokens are long, random and kept only as SHA-256."""

from __future__ import annotations

import hashlib

from fitwatch_server.auth import secrets


def test_tokens_are_fresh_256_bit_secrets_with_a_recognisable_prefix():
    made = {secrets.new_token() for _ in range(100)}
    assert len(made) == 100
    assert all(t.startswith("fw_") and len(t) == 3 + 43 for t in made)


def test_the_stored_form_is_the_hex_sha256():
    assert secrets.digest("fw_abc") == hashlib.sha256(b"fw_abc").hexdigest()
    assert secrets.shown_prefix("fw_abcdefghijk") == "fw_abcdefg"
    assert secrets.same_secret("x" * 40, "x" * 40) and not secrets.same_secret("x" * 40, "y" * 40)
