"""Opening surge: ``--families`` families arrive within ``--arrival-seconds`` of the window opening.

Each joins the waiting room, polls at the suggested interval, and when admitted
reads the schools, applies (twins, roster children, popular schools) and releases.

    locust -f loadtest/locustfiles/opening_surge.py --host http://127.0.0.1:8080 --families 2000
"""

from loadtest.common import options as _options  # noqa: F401  (registers the Kezek options)
from loadtest.common import users
from loadtest.common.shapes import SurgeShape  # noqa: F401  (locust picks the shape up from this module)


class Family(users.Family):
    weight = 1
