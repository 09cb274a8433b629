"""Auth: who am I, and the dashboard's sign-in (a token exchanged for a session cookie)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from fitwatch_server import schemas
from fitwatch_server.api.auth import SESSION_COOKIE
from fitwatch_server.api.deps import PrincipalDep, SettingsDep, WriteSessionmakerDep, in_transaction
from fitwatch_server.auth.principal import Principal, Via
from fitwatch_server.errors import Forbidden
from fitwatch_server.settings import Settings
from fitwatch_server.store import tokens as token_store

# Every route here needs a valid credential but no particular scope (app.py mounts this
# router with `get_principal` only): a read-only session must be able to sign out.
router = APIRouter(prefix="/auth", tags=["auth"])


def whoami_of(principal: Principal, settings: Settings) -> schemas.WhoAmI:
    return schemas.WhoAmI(
        auth=settings.auth,
        name=principal.name,
        scope=principal.scope,
        project=principal.project,
        via=principal.via.value,
        limits=schemas.ServerLimits(
            rate_limit_per_s=settings.rate_limit_per_s,
            max_runs_per_project=settings.max_runs_per_project,
            max_series_per_run=settings.max_series_per_run,
            max_points_per_request=settings.max_points_per_request,
            max_document_depth=settings.max_document_depth,
            max_document_bytes=settings.max_document_bytes,
        ),
    )


@router.get("/whoami", response_model=schemas.WhoAmI)
def whoami(principal: PrincipalDep, settings: SettingsDep) -> schemas.WhoAmI:
    """The caller's name, scope and project, and the server's limits."""
    return whoami_of(principal, settings)


@router.post("/session", response_model=schemas.WhoAmI)
async def sign_in(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    settings: SettingsDep,
    factory: WriteSessionmakerDep,
) -> schemas.WhoAmI:
    """Exchange the bearer token of this request for a dashboard session cookie."""
    if principal.via is Via.local:
        return whoami_of(principal, settings)  # auth is off: there is nothing to sign in to
    if principal.via is Via.bootstrap:
        raise Forbidden(
            "FITWATCH_ADMIN_TOKEN makes the first tokens; it does not sign in. Create your own: "
            "fitwatch token create --name NAME --scope admin"
        )
    if principal.via is not Via.token or principal.token_id is None:
        raise Forbidden("sign in with a token in the Authorization header, not with a session cookie")
    token_id = principal.token_id

    def work(session: Session) -> str:
        secret, _expires = token_store.create_web_session(
            session, token_id=token_id, max_age_s=settings.session_max_age_s
        )
        return secret

    secret = await in_transaction(factory, work)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_max_age_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.headers["Cache-Control"] = "no-store"
    return whoami_of(principal, settings)


@router.delete("/session", status_code=204)
async def sign_out(response: Response, principal: PrincipalDep, factory: WriteSessionmakerDep) -> None:
    """End this dashboard session (the cookie is cleared and no longer accepted)."""
    session_hash = principal.session_hash
    if session_hash is not None:

        def work(session: Session) -> None:
            token_store.delete_web_session(session, session_hash=session_hash)

        await in_transaction(factory, work)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
