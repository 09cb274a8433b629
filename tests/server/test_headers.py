"""api/headers.py: the security headers on pages and API answers."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_pages_and_api_answers_carry_the_security_headers(client: TestClient):
    for path in ("/", "/run.html", "/signin.html", "/api/v1/projects", "/js/api.js", "/no-such-file"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy, (path, policy)
        assert "unsafe-eval" not in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_only_the_compare_page_allows_eval_for_its_webgl_chart(client: TestClient):
    policy = client.get("/compare.html").headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-eval';" in policy and "frame-ancestors 'none'" in policy


def test_the_api_docs_get_their_own_policy_and_still_cannot_be_framed(client: TestClient):
    policy = client.get("/docs").headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy and "frame-ancestors 'none'" in policy


def test_refusals_at_the_edge_carry_the_headers_too(client: TestClient):
    refused = client.get("/api/v1/projects", headers={"Host": "attacker.example"})
    assert refused.status_code == 400
    assert refused.headers["x-content-type-options"] == "nosniff"
