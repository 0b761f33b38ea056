"""Security headers.  Every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``
and a Content-Security-Policy that allows nothing (JSON needs nothing).  The parents' pages
override the policy with their own (``page_csp``: their inline script and style by a per-response
nonce, everything else from this origin only); the API docs under /docs with theirs (``DOCS_CSP``).
No page of Kezek may be framed (clickjacking)."""

from __future__ import annotations

import secrets

from litestar.datastructures import ResponseHeader

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
