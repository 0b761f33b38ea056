"""The scenarios' own command-line options (``locust --help`` lists them under "Kezek").

Registered on locust's parser, so they show in the web UI, are sent from the
master to every worker in distributed mode, and can be set from the
environment (``LOADTEST_<NAME>``).  Import this module from every locustfile.
"""

from __future__ import annotations

from typing import Any

from locust import events


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    group = parser.add_argument_group("Kezek", "options of the Kezek scenarios (also LOADTEST_* variables)")

    def add(name: str, **kwargs: Any) -> None:
        env = "LOADTEST_" + name.removeprefix("--").replace("-", "_").upper()
        group.add_argument(name, env_var=env, **kwargs)

    add("--region", default="astana", help="the region whose opening is simulated")
    add("--families", type=int, default=300, help="families arriving in the surge")
    add("--arrival-seconds", type=float, default=30.0, help="all families arrive within this many seconds")
    add("--max-poll-seconds", type=float, default=10.0, help="cap on the poll interval the service suggests")
    add("--think-seconds", type=float, default=2.0, help="time an admitted family spends choosing a school")
    add("--twin-share", type=float, default=0.03, help="share of families applying for two children")
    add("--roster-share", type=float, default=0.10, help="share of families whose child is on a pre-school roster")
    add("--abandon-share", type=float, default=0.05, help="share of families that stop polling while waiting")
    add("--second-device-share", type=float, default=0.10, help="share of families that rejoin from a 2nd device")
    add("--withdraw-share", type=float, default=0.05, help="share of accepted applications withdrawn later")
    add("--withdraw-after", type=float, default=10.0, help="mean seconds before a withdrawal")
    add("--popularity", type=float, default=1.2, help="Zipf exponent of school popularity (0 = uniform)")
    add("--admins", type=int, default=1, help="region admins changing max_active and capacities")
    add("--admin-every", type=float, default=3.0, help="seconds between an admin's changes")
    add("--admin-max-active", default="10,100", help="max_active values the admin switches between")
    add("--admin-token", default="", help="bearer token of a region admin (the runner mints one)")
    add("--bad-actors", type=int, default=4, help="bad-actor users")
    add("--readers", type=int, default=4, help="users reading public status in the background")
    add("--signing-key-file", default="", help="the service's key, to mint expired/other-region tokens")
    add("--journal-dir", default="", help="where each locust process writes its JSONL journal")
    add("--seed", type=int, default=0, help="random seed (0 = random)")


def options(environment: Any) -> Any:
    """The parsed options of ``environment`` (locust's own plus the ones above)."""
    return environment.parsed_options
