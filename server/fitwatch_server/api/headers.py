"""Security headers on every HTTP answer: what a browser may load, frame and sniff.

The dashboard's pages load only their own scripts (`script-src 'self'`: no inline script,
no eval) and connect only to their own server. Two relaxations, both found in Chromium
(tests/web/test_content_security_policy.py checks every page reports no violation):

- `style-src 'unsafe-inline'` everywhere: Plotly.js styles its modebar, legend and SVG
  with inline `style` attributes and rules; without it the charts lose their layout
  (docs/screenshots/csp-without-inline-styles.png). Inline styles cannot run code.
- `'unsafe-eval'` on compare.html only: its parallel-coordinates chart is WebGL drawn by
  regl, which compiles its draw calls with `Function(...)` (plotly.min.js). Inline
  scripts stay forbidden there too; the other pages do not allow eval at all.

FastAPI's /docs and /redoc pages load Swagger UI / ReDoc from a CDN with an inline
start-up script: they get a policy of their own, and still may not be framed.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _policy(script_src: str) -> str:
    return "; ".join([
        "default-src 'self'",
        script_src,
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


CSP = _policy("script-src 'self'")
EVAL_CSP = _policy("script-src 'self' 'unsafe-eval'")
EVAL_PATHS = ("/compare.html",)
DOCS_CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "font-src 'self' https://fonts.gstatic.com",
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
DOCS_PATHS = ("/docs", "/redoc")
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    # Other origins' pages may not embed our answers as images, scripts or media (XS leaks).
    (b"cross-origin-resource-policy", b"same-origin"),
]


CSP_NAME = b"content-security-policy"
POLICIES = {policy: policy.encode() for policy in (CSP, EVAL_CSP, DOCS_CSP)}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(DOCS_PATHS):
            policy = POLICIES[DOCS_CSP]
        elif path in EVAL_PATHS:
            policy = POLICIES[EVAL_CSP]
        else:
            policy = POLICIES[CSP]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # On raw header pairs: this runs for every answer, the SDK's small point
                # posts too, and starlette's MutableHeaders decodes and scans per lookup.
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() != CSP_NAME
                ]
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in COMMON if pair[0] not in present)
                headers.append((CSP_NAME, policy))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
