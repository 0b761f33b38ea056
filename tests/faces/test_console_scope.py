"""The console's sign-in and scope over HTTP: a bad token is refused, the ministry sees every room,
a school admin only its own school."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.signing_keys import KeySet, mint_admin_token

SCHOOL = "150645269256"  # school №1 of Astana
OTHER_SCHOOL = "290246571117"


async def _sign_in(client: AsyncTestClient[Litestar], token: str) -> str:
    form = await client.get("/admin/sign-in")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    response = await client.post(
        "/admin/sign-in", data={"token": token, "_csrf_token": csrf.group(1)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location


async def test_a_bad_token_is_refused_and_nothing_is_shown_without_a_session(
    client: AsyncTestClient[Litestar], keys: KeySet
) -> None:
    assert (await client.get("/admin/rooms", follow_redirects=False)).headers["location"] == "/admin/sign-in"
    form = await client.get("/admin/sign-in?lang=ru")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    forged = mint_admin_token(KeySet.generate(), "someone", "ministry")
    refused = await client.post("/admin/sign-in", data={"token": forged, "_csrf_token": csrf.group(1)})
    assert refused.status_code == 401
    assert "Токен недействителен или просрочен." in refused.text
    assert (await client.get("/admin/rooms/live")).status_code == 401  # the live part asks the page to sign in


async def test_the_ministry_sees_every_room_and_a_school_admin_only_its_school(
    client: AsyncTestClient[Litestar], keys: KeySet
) -> None:
    assert await _sign_in(client, mint_admin_token(keys, "minister", "ministry")) == "/admin/rooms"
    rooms = await client.get("/admin/rooms")
    assert rooms.text.count("<tr data-region=") == 20
    assert (await client.get("/admin/regions/zhetisu/schools")).status_code == 200
    await client.post("/admin/sign-out", data={"_csrf_token": _csrf(rooms.text)})
    assert (await client.get("/admin/rooms", follow_redirects=False)).headers["location"] == "/admin/sign-in"

    school_admin = mint_admin_token(keys, "director", "school", region="astana", school=SCHOOL)
    assert await _sign_in(client, school_admin) == f"/admin/schools/{SCHOOL}"
    own = await client.get(f"/admin/schools/{SCHOOL}")
    assert own.status_code == 200
    assert (await client.get("/admin/rooms", follow_redirects=False)).headers["location"] == f"/admin/schools/{SCHOOL}"
    schools = await client.get("/admin/regions/astana/schools")
    assert schools.status_code == 200
    assert schools.text.count('data-school="') == 2  # its own school's two class sets, no other school
    for path in (f"/admin/schools/{OTHER_SCHOOL}", "/admin/audit", "/admin/rooms/astana"):
        assert (await client.get(path)).status_code == 403, path


def _csrf(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)
