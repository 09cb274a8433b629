"""The caller of a request (`Principal`) and the rules of what each scope may do.

    read   every GET and the websocket, for its project or every project
    write  read, plus creating runs and writing points, tags, notes, status (POST, PATCH)
    admin  everything: deleting runs, managing tokens

A token bound to a project sees only that project: its listings are filtered, and the
runs of other projects answer 404 exactly as if they did not exist, so nothing about
them leaks. These checks raise `errors.Forbidden` / `errors.NotFound`; `api/errors.py`
maps them to HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fitwatch_server.errors import Forbidden, NotFound
from fitwatch_server.schemas import TokenScope

RANK = {TokenScope.read: 0, TokenScope.write: 1, TokenScope.admin: 2}


def widest(*scopes: TokenScope) -> TokenScope:
    return max(scopes, key=RANK.__getitem__)


class Via(StrEnum):
    token = "token"
    session = "session"
    bootstrap = "bootstrap"
    local = "local"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token (directly or through a dashboard session), the bootstrap
    admin token, or, with auth off, the local user (admin of everything)."""

    name: str
    scope: TokenScope
    project: str | None
    via: Via
    token_id: int | None = None
    # The stored digest of the dashboard session, for sessions (sign-out, re-checks).
    session_hash: str | None = None

    @property
    def rate_key(self) -> str:
        if self.token_id is not None:
            return f"token:{self.token_id}"
        return self.via.value

    def allows(self, needed: TokenScope) -> bool:
        return RANK[self.scope] >= RANK[needed]

    def require(self, needed: TokenScope, action: str) -> None:
        if not self.allows(needed):
            raise Forbidden(
                f"{action} needs {'an' if needed is TokenScope.admin else 'a'} {needed.value} token; "
                f"{self.describe()} has scope "
                f"{self.scope.value}. Create one with: fitwatch token create --scope {needed.value} ..."
            )

    def require_every_project(self, action: str) -> None:
        if self.project is not None:
            raise Forbidden(
                f"{action} needs a token for every project; {self.describe()} is bound to "
                f"project {self.project!r}"
            )

    def sees(self, project: str) -> bool:
        return self.project is None or self.project == project

    def require_project(self, project: str, action: str) -> None:
        """For names the caller chose (a new run's project): 403 names the bound project."""
        if not self.sees(project):
            raise Forbidden(
                f"{self.describe()} is bound to project {self.project!r}; it cannot {action} "
                f"project {project!r}"
            )

    def require_run(self, run_id: str, project: str | None) -> None:
        """A run of another project is, to this caller, a run that does not exist."""
        if project is not None and not self.sees(project):
            raise NotFound(f"no run with id {run_id!r}")

    def project_filter(self, requested: str | None) -> str | None:
        """The project a listing is limited to: the bound one, or what was asked for."""
        if self.project is None:
            return requested
        if requested is not None and requested != self.project:
            self.require_project(requested, "list")
        return self.project

    def describe(self) -> str:
        if self.via is Via.local:
            return "the local user"
        if self.via is Via.bootstrap:
            return "the FITWATCH_ADMIN_TOKEN"
        return f"token {self.name!r}"


LOCAL = Principal(name="local", scope=TokenScope.admin, project=None, via=Via.local)
BOOTSTRAP = Principal(name="FITWATCH_ADMIN_TOKEN", scope=TokenScope.admin, project=None, via=Via.bootstrap)
