"""Pages for parents: the waiting room (``/rooms/{region}``) and the demo application form (``/apply/{region}``).

Both are a jinja2 template on ``base.html`` plus a small vanilla script, in
Kazakh by default, Russian or English by ``?lang=`` or ``Accept-Language``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import MediaType, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from admission import catalogues, reference
from admission.db import Pool
from admission.errors import LANGUAGES, Language, UnknownRegion
from queue_service.headers import CSP, new_nonce, page_csp
from queue_service.i18n import negotiate

_ENV = Environment(loader=PackageLoader("queue_service.pages", "templates"), autoescape=select_autoescape())

# The frame every parents' page shares: the service's name, the helpline, the privacy note.
FRAME_TEXT: dict[Language, dict[str, str]] = catalogues.by_language(
    catalogues.read("queue_service.pages", "frame.toml"), LANGUAGES
)


_SCRIPTS: dict[str, bytes] = {}


def script(name: str) -> str:
    """Register a page's script (a file of this package); the page loads it from ``/assets/pages/<name>``.

    Served as a file of this origin rather than inline, so a Content-Security-Policy of
    ``script-src 'self'`` admits it.
    """
    _SCRIPTS[name] = resources.files("queue_service.pages").joinpath(name).read_bytes()
    return name


@get("/assets/pages/{name:str}", include_in_schema=False, media_type="text/javascript; charset=utf-8")
async def page_script(name: FromPath[str]) -> Response[bytes]:
    found = _SCRIPTS.get(name)
    if found is None:
        raise NotFoundException()
    return Response(found, headers={"Cache-Control": "no-cache"})


async def render_region_page(
    request: Request[Any, Any, Any],
    db: Pool,
    region: str,
    *,
    template: str,
    texts: dict[Language, dict[str, str]],
    page_script: str,
    config: dict[str, Any] | None = None,
    **context: Any,
) -> Response[str]:
    """Render ``template`` for ``region`` in the request's language; 404 problem for an unknown region."""
    language = negotiate(request.headers.get("accept-language"), request.query_params.get("lang"))
    async with db.acquire() as conn:
        found = await reference.get_region(conn, region)
    if found is None:
        raise UnknownRegion(region=region)
    text = {**FRAME_TEXT[language], **texts[language]}
    nonce = new_nonce()
    html = _ENV.get_template(template).render(
        lang=language,
        text=text,
        region=region,
        region_name={"kk": found.name_kk, "ru": found.name_ru, "en": found.name_en}[language],
        demo=found.window_is_demo,
        config=json.dumps(
            {
                "region": region,
                "lang": language,
                "text": text,
                "opensAt": found.window_opens_at.isoformat(),
                "closesAt": found.window_closes_at.isoformat(),
                **(config or {}),
            },
            ensure_ascii=False,
        ).replace("</", "<\\/"),
        script=page_script,
        nonce=nonce,
        **context,
    )
    headers = {"Content-Language": language, CSP: page_csp(nonce)}
    return Response(html, media_type=MediaType.HTML, headers=headers)
