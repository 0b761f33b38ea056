"""Security headers.  Every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``
and a Content-Security-Policy that allows nothing (JSON needs nothing).  The parents' pages
override the policy with their own (``page_csp``: their inline script and style by a per-response
nonce, everything else from this origin only); the API docs under /docs with theirs (``DOCS_CSP``).
No page of Kezek may be framed (clickjacking).  ``baseline`` (the app's ``before_send``) adds what an
answer built outside the layered headers lacks: a router's error page or redirect, a middleware's 408."""

from __future__ import annotations

import secrets

from litestar.datastructures import ResponseHeader
from litestar.types import Message, Scope

CSP = "Content-Security-Policy"
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Litestar's Swagger page: an inline bootstrap script and its bundles (vendored, served from
# /docs/assets), the schema fetched from this origin.  Nothing from another origin.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
# The admin console: server-rendered pages with their stylesheet and script from this origin,
# forms posted to this origin only.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)

BASELINE = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", CSP: API_CSP}
"""Also on every problem document (error responses skip the app's layered headers)."""
EVERY_RESPONSE = [ResponseHeader(name=name, value=value) for name, value in BASELINE.items()]
DOCS = [ResponseHeader(name=CSP, value=DOCS_CSP)]
CONSOLE = [ResponseHeader(name=CSP, value=CONSOLE_CSP)]


_BASELINE_RAW = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in BASELINE.items()]


async def baseline(message: Message, _scope: Scope) -> None:
    """``before_send`` of the app: whatever built the answer (a router's exception handler, a redirect,
    a middleware's own 408 or 429), it leaves with the baseline headers; a policy already set (a page's,
    the console's, the docs') is kept.

    Runs on every answer: the names present are read in one pass over the raw headers (Litestar's
    ``MutableScopeHeaders`` would decode and compare every header once per baseline header)."""
    if message["type"] != "http.response.start":
        return
    headers = message.get("headers", ())
    present = {name.lower() for name, _ in headers}
    missing = [pair for pair in _BASELINE_RAW if pair[0] not in present]
    if missing:
        message["headers"] = [*headers, *missing]


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def page_csp(nonce: str) -> str:
    """A parents' page: its own inline script and style (by ``nonce``), scripts, workers, images and
    API calls from this origin only, never framed."""
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
