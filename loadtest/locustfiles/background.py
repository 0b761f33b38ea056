"""Steady background: ``--readers`` users reading rooms, schools and application status, nothing else."""

from loadtest.common import options as _options  # noqa: F401
from loadtest.common import users
from loadtest.common.fixed import fixed_counts
from loadtest.common.shapes import SteadyShape  # noqa: F401


class StatusReader(users.StatusReader):
    fixed_count = 4


fixed_counts(readers=StatusReader)
