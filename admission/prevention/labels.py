"""Kazakh, Russian and English labels of the registration's grounds, states and kinds.

They are data, in the catalogue ``labels.toml`` beside this file: the Kazakh texts follow the seed
(order No. 398, paras 21-23); the Russian are the recommendations' Russian wording; the English are
for the API's readers.
"""

from __future__ import annotations

from admission import catalogues
from admission.errors import LANGUAGES, Language

Labels = dict[Language, str]

# Every group of labels by its name (what ``GET /v1/admin/prevention/labels`` answers).
ALL: dict[str, dict[str, Labels]] = {
    group: catalogues.texts(table, LANGUAGES)
    for group, table in catalogues.read("admission.prevention", "labels.toml").items()
}

GROUNDS: dict[int, Labels] = {int(ground): text for ground, text in ALL["grounds"].items()}
"""Para 22: the ten grounds for intra-school registration."""
TRUANCY_GROUND = 5
STATES = ALL["states"]
SOURCES = ALL["sources"]
REQUESTERS = ALL["requesters"]
OUTSIDE_BODIES = ALL["outside_bodies"]
REMOVAL_REASONS = ALL["removal_reasons"]
"""Para 23."""
REFERRAL_KINDS = ALL["referral_kinds"]
"""Para 21: what the administration proposes to the territorial commission for minors."""
DEADLINES = ALL["deadlines"]
DEADLINE_STATES = ALL["deadline_states"]
COUNCIL_ROLES = ALL["council_roles"]
PARTICIPANT_KINDS = ALL["participant_kinds"]
