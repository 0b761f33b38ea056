"""Opening day, everything at once: the surge of families, region admins at work, bad actors and the
steady background of status reads.  The scenario to run before a real opening.
"""

from loadtest.common import options as _options  # noqa: F401
from loadtest.common import users
from loadtest.common.fixed import fixed_counts
from loadtest.common.shapes import SurgeShape  # noqa: F401


class Family(users.Family):
    weight = 1


class RegionAdmin(users.RegionAdmin):
    fixed_count = 1


class BadActor(users.BadActor):
    fixed_count = 4


class StatusReader(users.StatusReader):
    fixed_count = 4


fixed_counts(admins=RegionAdmin, bad_actors=BadActor, readers=StatusReader)
