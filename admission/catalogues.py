"""Texts in several languages kept as data: a TOML catalogue beside the page or document that shows them.

A catalogue gives each text a table of its languages side by side, so a translator edits one file
and sees every language of a text together::

    [title]
    kk = "Күту залы"
    ru = "Зал ожидания"
    en = "Waiting room"

A catalogue of several groups nests them (``[look.opens_in]``).  The code reads a catalogue once, at
import, into one dict per language (what a template is given); a text that lacks one of the
languages, or has another, fails that import rather than a page in front of a parent.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any, TypeVar

L = TypeVar("L", bound=str)


def read(package: str, name: str) -> dict[str, Any]:
    """The catalogue ``name``, a data file of ``package``, as TOML gives it."""
    return tomllib.loads(resources.files(package).joinpath(name).read_text(encoding="utf-8"))


def texts(table: dict[str, Any], languages: tuple[L, ...]) -> dict[str, dict[L, str]]:
    """``table``'s texts, each a string in every one of ``languages`` and in no other (else ValueError)."""
    checked: dict[str, dict[L, str]] = {}
    for key, text in table.items():
        if not (
            isinstance(text, dict) and set(text) == set(languages) and all(isinstance(v, str) for v in text.values())
        ):
            raise ValueError(f"the text {key!r} needs a string in each of {', '.join(languages)}: {text!r}")
        checked[key] = {language: text[language] for language in languages}
    return checked


def by_language(table: dict[str, Any], languages: tuple[L, ...]) -> dict[L, dict[str, str]]:
    """``table``'s texts (checked as :func:`texts` does) as one dict per language."""
    checked = texts(table, languages)
    return {language: {key: text[language] for key, text in checked.items()} for language in languages}
