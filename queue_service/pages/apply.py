"""The demo application form: ``GET /apply/{region}``, where the waiting room redirects an admitted visitor.

In production the egov portal's own form is there (``KEZEK_APPLY_URL``); this
page stands in for it so that a newcomer can try the whole flow on one machine.
It only calls the public API: it takes the access token from the URL fragment,
lists the region's schools with free grade-1 seats, files the application
(``POST /v1/applications``), shows the decision — school, child, application
number and date; accepted, or refused with its legal ground — offers a printable
receipt (acceptance, or the annex 2 refusal receipt), keeps the slot's lease
alive by heartbeat, and lets the parent withdraw an accepted application after
confirming (pilot para 6).  The filed applications' withdraw tokens are kept in
session storage, so a reload shows the decisions again.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.params import FromPath

from admission import catalogues
from admission.errors import LANGUAGES, Language
from queue_service.pages import render_region_page, script
from queue_service.resources import DbDep

_SCRIPT = script("apply.js")

TEXT: dict[Language, dict[str, str]] = catalogues.by_language(
    catalogues.read("queue_service.pages", "apply.toml"), LANGUAGES
)


@get("/apply/{region:str}", media_type=MediaType.HTML, include_in_schema=False, cache=False)
async def apply_page(region: FromPath[str], db: DbDep, request: Request[Any, Any, Any]) -> Response[str]:
    return await render_region_page(request, db, region, template="apply.html", texts=TEXT, page_script=_SCRIPT)
