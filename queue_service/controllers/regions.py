"""Public reference data: the regions and their grade-1 windows."""

from __future__ import annotations

from litestar import get
from litestar.params import FromPath

from admission import reference
from admission.errors import UnknownRegion
from queue_service.resources import DbDep


@get("/v1/regions", tags=["reference"], summary="All regions with their grade-1 windows (UTC+5)")
async def list_regions(db: DbDep) -> list[reference.Region]:
    async with db.acquire() as conn:
        return await reference.list_regions(conn)


@get("/v1/regions/{slug:str}", tags=["reference"], summary="One region and its grade-1 window")
async def get_region(db: DbDep, slug: FromPath[str]) -> reference.Region:
    async with db.acquire() as conn:
        region = await reference.get_region(conn, slug)
    if region is None:
        raise UnknownRegion(region=slug)
    return region
