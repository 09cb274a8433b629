"""Tokens: create, list, revoke (admin tokens for every project only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from fitwatch_server import schemas
from fitwatch_server.api.deps import ADMIN_ONLY, PrincipalDep, SessionDep, WriteSessionDep
from fitwatch_server.store import tokens as token_store


def _every_project(principal: PrincipalDep) -> None:
    # A project's admin must not mint a token that sees every project.
    principal.require_every_project("managing tokens")


router = APIRouter(prefix="/tokens", tags=["tokens"], dependencies=[ADMIN_ONLY, Depends(_every_project)])


@router.post("", status_code=201, response_model=schemas.TokenCreated)
def create_token(data: schemas.TokenCreate, session: WriteSessionDep) -> schemas.TokenCreated:
    """Create a token; the answer is the only place the token itself is ever shown."""
    token, raw = token_store.create_token(session, data=data)
    return schemas.TokenCreated(**token_store.token_public(token).model_dump(), token=raw)


@router.get("", response_model=schemas.TokensPublic)
def list_tokens(session: SessionDep) -> schemas.TokensPublic:
    """Every token (revoked ones too) with scope, project, created and last-used time."""
    return schemas.TokensPublic(tokens=[token_store.token_public(t) for t in token_store.list_tokens(session)])


@router.delete("/{ident}", response_model=schemas.TokenPublic)
def revoke_token(ident: str, session: WriteSessionDep) -> schemas.TokenPublic:
    """Revoke a token by id or name; its dashboard sessions end with it."""
    return token_store.token_public(token_store.revoke_token(session, ident=ident))
