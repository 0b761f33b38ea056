"""Pages for parents: the waiting room (``/rooms/{region}``) and the demo application form (``/apply/{region}``).

Both are a jinja2 template on ``base.html`` plus a small vanilla script, in
Kazakh by default, Russian or English by ``?lang=`` or ``Accept-Language``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import MediaType, Request, Response

from admission import reference
from admission.db import Pool
from admission.errors import Language, UnknownRegion
from queue_service.headers import CSP, new_nonce, page_csp
from queue_service.i18n import negotiate

_ENV = Environment(loader=PackageLoader("queue_service.pages", "templates"), autoescape=select_autoescape())


def script(name: str) -> str:
    return resources.files("queue_service.pages").joinpath(name).read_text("utf-8")


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
    text = texts[language]
    nonce = new_nonce()
    html = _ENV.get_template(template).render(
        lang=language,
        text=text,
        region=region,
        region_name={"kk": found.name_kk, "ru": found.name_ru, "en": found.name_en}[language],
        demo=found.window_is_demo,
        config=json.dumps({"region": region, "lang": language, "text": text, **(config or {})}, ensure_ascii=False),
        script=page_script,
        nonce=nonce,
        **context,
    )
    headers = {"Content-Language": language, CSP: page_csp(nonce)}
    return Response(html, media_type=MediaType.HTML, headers=headers)
