"""store/tokens.py: tokens are kept as hashes, found by their secret, revoked for good."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from fitwatch_server import models, schemas
from fitwatch_server.auth import secrets
from fitwatch_server.db import session_scope
from fitwatch_server.errors import Conflict, InvalidInput, NotFound
from fitwatch_server.store import tokens as store


def _create(factory, name="ci", scope="write", project=None):
    with session_scope(factory) as session:
        token, raw = store.create_token(
            session, data=schemas.TokenCreate(name=name, scope=scope, project=project)
        )
        return token.id, raw


def test_only_the_hash_of_a_token_is_stored(factory):
    token_id, raw = _create(factory)
    assert raw.startswith("fw_") and len(raw) >= 40
    with session_scope(factory) as session:
        row = session.get(models.Token, token_id)
        assert row.token_hash == secrets.digest(raw) and row.prefix == raw[:10]
        dumped = " ".join(str(v) for r in session.execute(text("SELECT * FROM tokens")) for v in r)
    assert raw not in dumped


def test_a_token_is_found_by_its_secret_until_revoked(factory):
    token_id, raw = _create(factory, project="digits")
    with session_scope(factory) as session:
        found = store.find_token(session, raw=raw)
        assert found is not None and found.id == token_id
        principal = store.principal_of(found)
        assert (principal.scope, principal.project) == (schemas.TokenScope.write, "digits")
        assert store.find_token(session, raw=raw + "x") is None
    with session_scope(factory) as session:
        store.revoke_token(session, ident="ci")
    with session_scope(factory) as session:
        assert store.find_token(session, raw=raw) is None
        listed = store.list_tokens(session)
        assert [t.revoked_at is not None for t in listed] == [True]
        with pytest.raises(InvalidInput, match="already revoked"):
            store.revoke_token(session, ident=str(token_id))


def test_names_are_unique_among_active_tokens(factory):
    _create(factory, name="alice")
    with pytest.raises(Conflict, match="'alice' already exists"):
        _create(factory, name="alice")
    with session_scope(factory) as session:
        store.revoke_token(session, ident="alice")
    _create(factory, name="alice")  # the name is free again
    with session_scope(factory) as session, pytest.raises(NotFound, match="fitwatch token ls"):
        store.get_token(session, ident="bob")


def test_revoking_a_token_ends_its_dashboard_sessions(factory):
    token_id, _raw = _create(factory)
    with session_scope(factory) as session:
        secret, expires = store.create_web_session(session, token_id=token_id, max_age_s=3600)
    assert expires > datetime.now(UTC)
    with session_scope(factory) as session:
        found = store.find_web_session(session, secret=secret)
        assert found is not None and found[0].id == token_id
        principal = store.principal_of(found[0], session_hash=found[1])
        assert store.still_valid(session, principal=principal)
        store.revoke_token(session, ident=str(token_id))
    with session_scope(factory) as session:
        assert store.find_web_session(session, secret=secret) is None
        assert not store.still_valid(session, principal=principal)


def test_an_expired_session_is_not_accepted_and_is_swept_at_the_next_sign_in(factory):
    token_id, _raw = _create(factory)
    with session_scope(factory) as session:
        old, _ = store.create_web_session(session, token_id=token_id, max_age_s=3600)
        session.execute(update(models.WebSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    with session_scope(factory) as session:
        assert store.find_web_session(session, secret=old) is None
        store.create_web_session(session, token_id=token_id, max_age_s=3600)
    with session_scope(factory) as session:
        assert len(session.scalars(select(models.WebSession)).all()) == 1


def test_mark_used_records_the_time(factory):
    token_id, _raw = _create(factory)
    with session_scope(factory) as session:
        store.mark_used(session, token_id=token_id)
    with session_scope(factory) as session:
        assert store.token_public(session.get(models.Token, token_id)).last_used_at is not None
