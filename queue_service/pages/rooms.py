"""The waiting page for parents: ``GET /rooms/{region}``.

Kazakh by default, Russian or English by ``?lang=`` or ``Accept-Language``.
The page joins (demo mode: the parent types the ИИН; assertion mode: the
portal passes ``#assertion=<jwt>`` in the URL fragment), then polls the JSON
API at the suggested interval, shows position, people ahead, ETA and a
progress bar, and redirects by itself when admitted.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.params import FromPath

from admission import catalogues
from admission.errors import LANGUAGES, Language
from queue_service.pages import render_region_page, script
from queue_service.resources import DbDep, SettingsDep

_SCRIPT = script("room.js")

# The page's words (``rooms.toml``): the page's own, its look (countdown, keep-the-tab-open note,
# screen-reader announcements, pause) and the proof-of-work widget's (ALTCHA's Kazakh and Russian;
# English is the widget's built-in language), which challenge.js hands to the widget.
_CATALOGUE = catalogues.read("queue_service.pages", "rooms.toml")
TEXT: dict[Language, dict[str, str]] = catalogues.by_language(_CATALOGUE["page"], LANGUAGES)
LOOK_TEXT: dict[Language, dict[str, str]] = catalogues.by_language(_CATALOGUE["look"], LANGUAGES)
CHALLENGE_TEXT: dict[Language, dict[str, str]] = dict(catalogues.by_language(_CATALOGUE["challenge"], ("kk", "ru")))


@get("/rooms/{region:str}", media_type=MediaType.HTML, include_in_schema=False, cache=False)
async def waiting_page(
    region: FromPath[str], db: DbDep, settings: SettingsDep, request: Request[Any, Any, Any]
) -> Response[str]:
    # The room's proof-of-work switch (``flood``), as this worker's snapshot of the room has it.
    visitors = request.app.state["visitors"]
    challenge = region in visitors.regions and (await visitors.snapshot(region)).settings.challenge
    return await render_region_page(
        request,
        db,
        region,
        challenge=challenge,
        template="room.html",
        texts={language: {**LOOK_TEXT[language], **TEXT[language]} for language in TEXT},
        page_script=_SCRIPT,
        config={"portalAuth": settings.portal_auth, **({"challengeText": CHALLENGE_TEXT} if challenge else {})},
        portal_auth=settings.portal_auth,
    )
