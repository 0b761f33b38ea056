"""The admin console's words in Kazakh, Russian and English (the catalogue ``texts.toml`` beside this file)."""

from __future__ import annotations

from admission import catalogues
from admission.errors import LANGUAGES, Language

TEXT: dict[Language, dict[str, str]] = catalogues.by_language(
    catalogues.read("queue_service.console", "texts.toml"), LANGUAGES
)
