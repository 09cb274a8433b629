"""auth/principal.py: what each scope may do, and what a project-bound token sees."""

from __future__ import annotations

import pytest

from fitwatch_server.auth.principal import LOCAL, Principal, Via, widest
from fitwatch_server.errors import Forbidden, NotFound
from fitwatch_server.schemas import TokenScope


def token(scope: str, project: str | None = None) -> Principal:
    return Principal(name="t", scope=TokenScope(scope), project=project, via=Via.token, token_id=1)


def test_each_scope_includes_the_ones_before_it():
    assert [token("read").allows(s) for s in TokenScope] == [True, False, False]
    assert [token("write").allows(s) for s in TokenScope] == [True, True, False]
    assert [token("admin").allows(s) for s in TokenScope] == [True, True, True]
    assert widest(TokenScope.read, TokenScope.admin, TokenScope.write) is TokenScope.admin


def test_a_refusal_says_which_scope_is_needed_and_how_to_get_it():
    with pytest.raises(Forbidden, match=r"DELETE /runs needs an admin token; token 't' has scope write\. "
                                        r"Create one with: fitwatch token create --scope admin"):
        token("write").require(TokenScope.admin, "DELETE /runs")


def test_a_bound_token_sees_only_its_project():
    bound = token("read", "digits")
    assert bound.sees("digits") and not bound.sees("mnist")
    assert bound.project_filter(None) == "digits" and bound.project_filter("digits") == "digits"
    with pytest.raises(Forbidden, match="bound to project 'digits'; it cannot list project 'mnist'"):
        bound.project_filter("mnist")
    with pytest.raises(NotFound, match="no run with id 'r1'"):
        bound.require_run("r1", "mnist")
    bound.require_run("r1", "digits")
    bound.require_run("r1", None)  # no such run: the route answers its own 404
    with pytest.raises(Forbidden, match="every project"):
        token("admin", "digits").require_every_project("managing tokens")


def test_the_local_user_of_a_server_without_auth_may_do_everything():
    assert LOCAL.allows(TokenScope.admin) and LOCAL.project is None and LOCAL.describe() == "the local user"
    assert token("read").rate_key == "token:1" and LOCAL.rate_key == "local"
