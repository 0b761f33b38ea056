"""Bad actors during a surge: invalid ИИН, forged and expired tokens, token replay across regions,
applying without a slot, join spam from one applicant.  Every answer to them must be a 4xx, and
none of them may end up with a seat (checked from PostgreSQL after the run).

Expired and other-region tokens need ``--signing-key-file`` (the service's key, as a leaked or
old token would be signed); without it those two kinds are skipped.
"""

from loadtest.common import options as _options  # noqa: F401
from loadtest.common import users
from loadtest.common.fixed import fixed_counts
from loadtest.common.shapes import SurgeShape  # noqa: F401


class Family(users.Family):
    weight = 1


class BadActor(users.BadActor):
    fixed_count = 4


fixed_counts(bad_actors=BadActor)
