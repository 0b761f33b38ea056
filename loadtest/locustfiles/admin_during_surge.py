"""Admin during the surge: the opening surge plus ``--admins`` region admins raising and lowering
``max_active`` and class capacities, and confirming accepted applications (admission orders).

Needs ``--admin-token`` (a region admin's bearer token; ``scripts/loadtest`` mints one).
"""

from loadtest.common import options as _options  # noqa: F401
from loadtest.common import users
from loadtest.common.fixed import fixed_counts
from loadtest.common.shapes import SurgeShape  # noqa: F401


class Family(users.Family):
    weight = 1


class RegionAdmin(users.RegionAdmin):
    fixed_count = 1


fixed_counts(admins=RegionAdmin)
