"""Query and path parameters declared once, with their bounds: Litestar refuses a value outside
them with a 400 problem before a handler runs (and the OpenAPI document shows the bounds), so no
handler clamps or re-checks a number by hand."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

INT64_MAX = 2**63 - 1

RowId = Annotated[int, Parameter(ge=0, le=INT64_MAX, description="a row id (bigint)")]
"""A paging cursor over a bigint id (``after_id``, ``before_id``)."""
Year = Annotated[int, Parameter(ge=2000, le=2100, description="a calendar year (the one a school year starts in)")]
Grade = Annotated[int, Parameter(ge=0, le=12, description="the grade, 0 (pre-school) to 12")]


AuditLimit = Annotated[int, Parameter(ge=1, le=500, description="page size")]
AuditAction = Annotated[
    str | None, Parameter(max_length=100, description="an action, or its prefix: `room` is every `room.*`")
]
AuditActor = Annotated[str | None, Parameter(max_length=200, description="the admin who acted (the token's subject)")]
PageLimit = Annotated[int, Parameter(ge=1, le=1000, description="page size")]
"""The page size of the lists of transfers, census children and issues, prevention cases and sittings."""
EventLimit = Annotated[int, Parameter(ge=1, le=5000, description="page size")]
Offset = Annotated[int, Parameter(ge=0, le=INT64_MAX, description="rows to skip (bigint)")]

# Optional ones: the bounds must sit on the whole ``int | None`` for Litestar to see them.
OptionalRowId = Annotated[int | None, Parameter(ge=0, le=INT64_MAX, description="a row id (bigint)")]
OptionalYear = Annotated[int | None, Parameter(ge=2000, le=2100, description="a calendar year")]
