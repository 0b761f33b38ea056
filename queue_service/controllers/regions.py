"""Public reference data: the regions and their grade-1 windows."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.params import FromPath

from admission import reference
from admission.errors import UnknownRegion
from queue_service.resources import DbDep


class RegionOut(reference.Region, frozen=True, kw_only=True):
    """A region as the API shows it: the same fields, ``window_is_demo`` always present."""

    window_is_demo: bool


def _out(region: reference.Region) -> RegionOut:
    return RegionOut(**msgspec.structs.asdict(region))


@get("/v1/regions", tags=["reference"], summary="All regions with their grade-1 windows (UTC+5)")
async def list_regions(db: DbDep) -> list[RegionOut]:
    async with db.acquire() as conn:
        return [_out(r) for r in await reference.list_regions(conn)]


@get("/v1/regions/{slug:str}", tags=["reference"], summary="One region and its grade-1 window")
async def get_region(db: DbDep, slug: FromPath[str]) -> RegionOut:
    async with db.acquire() as conn:
        region = await reference.get_region(conn, slug)
    if region is None:
        raise UnknownRegion(region=slug)
    return _out(region)
