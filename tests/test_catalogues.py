"""A text a translator left without one of its languages fails the import that reads its catalogue,
not the page that would show it to a parent."""

from __future__ import annotations

import pytest

from admission import catalogues
from admission.errors import LANGUAGES


def test_each_text_comes_in_every_language_and_is_read_as_one_dict_per_language() -> None:
    table = {"title": {"en": "Waiting room", "kk": "Күту залы", "ru": "Зал ожидания"}}
    assert catalogues.by_language(table, LANGUAGES) == {
        "kk": {"title": "Күту залы"},
        "ru": {"title": "Зал ожидания"},
        "en": {"title": "Waiting room"},
    }


@pytest.mark.parametrize(
    "text",
    [
        {"kk": "Күту залы", "ru": "Зал ожидания"},  # a language missing
        {"kk": "Күту залы", "ru": "Зал ожидания", "en": "Waiting room", "de": "Warteraum"},  # one too many
        {"kk": "Күту залы", "ru": "Зал ожидания", "en": 7},  # not a string
        "Waiting room",  # no languages at all
    ],
)
def test_a_text_without_exactly_the_catalogues_languages_is_refused_by_name(text: object) -> None:
    with pytest.raises(ValueError, match="'title'"):
        catalogues.by_language({"title": text}, LANGUAGES)
