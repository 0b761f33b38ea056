"""The scenarios' own command-line options (``locust --help`` lists them under "Kezek").

Registered on locust's parser, so they show in the web UI, are sent from the
master to every worker in distributed mode, and can be set from the
environment (``LOADTEST_<NAME>``).  Import this module from every locustfile.
"""

from __future__ import annotations

from typing import Any

from locust import events

from loadtest.common.behaviour import OPTIONS


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    group = parser.add_argument_group("Kezek", "options of the Kezek scenarios (also LOADTEST_* variables)")
    for name, option in OPTIONS.items():
        default = option["default"]
        typed = {} if isinstance(default, str) else {"type": type(default)}
        env = "LOADTEST_" + name.replace("-", "_").upper()
        group.add_argument(f"--{name}", env_var=env, default=default, help=option["help"], **typed)


def options(environment: Any) -> Any:
    """The parsed options of ``environment`` (locust's own plus the ones above)."""
    return environment.parsed_options
