"""Which of Kazakh, Russian and English a request wants."""

from __future__ import annotations

from admission.errors import LANGUAGES, Language

DEFAULT_LANGUAGE: Language = "kk"
_ALIASES: dict[str, Language] = {"kk": "kk", "kz": "kk", "ru": "ru", "en": "en"}


def negotiate(accept_language: str | None, explicit: str | None = None) -> Language:
    """``explicit`` (a ``?lang=``) when it is one of ours, else the best ``Accept-Language`` match, else Kazakh."""
    if explicit:
        chosen = _ALIASES.get(explicit.strip().lower()[:2])
        if chosen:
            return chosen
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: tuple[float, int, Language] | None = None
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        language = _ALIASES.get(tag.strip().lower()[:2])
        if language is None:
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        candidate = (quality, -index, language)
        if quality > 0 and (best is None or candidate > best):
            best = candidate
    return best[2] if best else DEFAULT_LANGUAGE


__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Language", "negotiate"]
