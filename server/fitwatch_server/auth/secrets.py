"""Token and session secrets: how they are made and the only form in which they are kept.

A token is `fw_` plus 32 random bytes (256 bits, `secrets.token_urlsafe`). Only its SHA-256
is stored. A slow password hash (bcrypt, argon2) protects secrets a person chose, which
are few enough to try one by one; 2**256 random tokens are not, so one SHA-256 is as safe
and lets every request find its token through an index instead of spending ~100 ms on a
key-stretching hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "fw_"
TOKEN_BYTES = 32
# How much of a token a listing shows: enough to tell tokens apart, far too little to guess.
SHOWN_CHARS = 10


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def new_session_secret() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    """The stored form of a token or session secret (hex SHA-256)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def shown_prefix(token: str) -> str:
    return token[:SHOWN_CHARS]


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time comparison (for the bootstrap token, which is not looked up by hash)."""
    return hmac.compare_digest(digest(presented), digest(expected))
