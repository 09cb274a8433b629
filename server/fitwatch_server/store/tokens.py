"""Tokens and dashboard sessions: create, list, revoke, and find the one a secret belongs to.

Secrets are never stored, only their SHA-256 (`auth/secrets.py` says why that is enough).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fitwatch_server import models, schemas
from fitwatch_server.auth import secrets
from fitwatch_server.auth.principal import Principal, Via
from fitwatch_server.errors import Conflict, InvalidInput, NotFound


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def token_public(token: models.Token) -> schemas.TokenPublic:
    created = _aware(token.created_at)
    assert created is not None
    return schemas.TokenPublic(
        id=token.id,
        name=token.name,
        scope=schemas.TokenScope(token.scope),
        project=token.project,
        prefix=token.prefix,
        created_at=created,
        last_used_at=_aware(token.last_used_at),
        revoked_at=_aware(token.revoked_at),
    )


def principal_of(token: models.Token, *, via: Via = Via.token, session_hash: str | None = None) -> Principal:
    return Principal(
        name=token.name,
        scope=schemas.TokenScope(token.scope),
        project=token.project,
        via=via,
        token_id=token.id,
        session_hash=session_hash,
    )


def create_token(session: Session, *, data: schemas.TokenCreate) -> tuple[models.Token, str]:
    """A new token; returns the row and the token itself (shown once, never stored)."""
    taken = session.scalar(
        select(models.Token.id).where(models.Token.name == data.name, models.Token.revoked_at.is_(None))
    )
    if taken is not None:
        raise Conflict(
            f"a token named {data.name!r} already exists (id {taken}); pick another name or "
            f"revoke it first: fitwatch token revoke {taken}"
        )
    raw = secrets.new_token()
    token = models.Token(
        name=data.name,
        scope=data.scope.value,
        project=data.project,
        token_hash=secrets.digest(raw),
        prefix=secrets.shown_prefix(raw),
        created_at=utcnow(),
    )
    session.add(token)
    session.flush()
    return token, raw


def list_tokens(session: Session) -> list[models.Token]:
    return list(session.scalars(select(models.Token).order_by(models.Token.id)))


def get_token(session: Session, *, ident: str) -> models.Token:
    """A token by id (digits) or by the name of a token that is not revoked."""
    if ident.isascii() and ident.isdigit():  # "²".isdigit() is True, int("²") fails
        token = session.get(models.Token, int(ident))
    else:
        token = session.scalar(
            select(models.Token).where(models.Token.name == ident, models.Token.revoked_at.is_(None))
        )
    if token is None:
        raise NotFound(f"no token with id or name {ident!r}; list them with: fitwatch token ls")
    return token


def revoke_token(session: Session, *, ident: str) -> models.Token:
    """Revoke a token (its row stays, marked) and end every dashboard session made with it."""
    token = get_token(session, ident=ident)
    if token.revoked_at is not None:
        raise InvalidInput(f"token {token.name!r} (id {token.id}) was already revoked")
    token.revoked_at = utcnow()
    session.execute(delete(models.WebSession).where(models.WebSession.token_id == token.id))
    session.flush()
    return token


def find_token(session: Session, *, raw: str) -> models.Token | None:
    """The active token whose secret is `raw`, or None (unknown or revoked)."""
    return session.scalar(
        select(models.Token).where(
            models.Token.token_hash == secrets.digest(raw), models.Token.revoked_at.is_(None)
        )
    )


def mark_used(session: Session, *, token_id: int) -> None:
    session.execute(update(models.Token).where(models.Token.id == token_id).values(last_used_at=utcnow()))


def create_web_session(session: Session, *, token_id: int, max_age_s: int) -> tuple[str, datetime]:
    """A dashboard session for a token; returns the cookie secret and when it expires."""
    now = utcnow()
    # Expired sessions are swept here, the one moment a new row is written anyway.
    session.execute(delete(models.WebSession).where(models.WebSession.expires_at < now))
    secret = secrets.new_session_secret()
    expires = now + timedelta(seconds=max_age_s)
    session.add(
        models.WebSession(secret_hash=secrets.digest(secret), token_id=token_id, created_at=now, expires_at=expires)
    )
    session.flush()
    return secret, expires


def find_web_session(session: Session, *, secret: str) -> tuple[models.Token, str] | None:
    """The active token of an unexpired session, and the session's digest; or None."""
    hashed = secrets.digest(secret)
    row = session.execute(
        select(models.Token, models.WebSession.expires_at)
        .join(models.WebSession, models.WebSession.token_id == models.Token.id)
        .where(models.WebSession.secret_hash == hashed, models.Token.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token, expires = row
    expires_at = _aware(expires)
    if expires_at is None or expires_at <= utcnow():
        return None
    return token, hashed


def delete_web_session(session: Session, *, session_hash: str) -> None:
    session.execute(delete(models.WebSession).where(models.WebSession.secret_hash == session_hash))


def still_valid(session: Session, *, principal: Principal) -> bool:
    """Whether the credential behind `principal` still works (for long-lived websockets)."""
    if principal.token_id is None:
        return True
    token = session.get(models.Token, principal.token_id)
    if token is None or token.revoked_at is not None:
        return False
    if principal.session_hash is None:
        return True
    web_session = session.get(models.WebSession, principal.session_hash)
    if web_session is None:
        return False
    expires_at = _aware(web_session.expires_at)
    return expires_at is not None and expires_at > utcnow()
