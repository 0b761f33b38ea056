"""The census's domain errors (mapped to HTTP by their base classes)."""

from __future__ import annotations

from typing import ClassVar

from admission.errors import Conflict, InvalidInput, Language, NotFound


class NotACensusMonth(InvalidInput):
    code = "census_not_a_census_month"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Есеп тоқсан сайын жүргізіледі: наурыз, маусым, қыркүйек, желтоқсан ({day}).",
        "ru": "Учёт ведётся ежеквартально: март, июнь, сентябрь, декабрь ({day}).",
        "en": "The census is quarterly: March, June, September or December ({day}).",
    }


class BadExtractFile(InvalidInput):
    """The file is not the format it claims to be (its header row); rows are never judged this way."""

    code = "census_bad_file"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Файл пішімі дұрыс емес: {file}.",
        "ru": "Неверный формат файла: {file}.",
        "en": "The file is not in the expected format: {file}.",
    }


class SnapshotNotFound(NotFound):
    code = "census_snapshot_not_found"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл өңірде осы тоқсанның есебі жоқ: {region}.",
        "ru": "В этом регионе нет учёта за этот квартал: {region}.",
        "en": "No census of that quarter in region {region}.",
    }


class SnapshotCompleted(Conflict):
    code = "census_snapshot_completed"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл тоқсанның есебі аяқталған, оны өзгертуге болмайды.",
        "ru": "Учёт за этот квартал завершён и не изменяется.",
        "en": "This quarter's census is completed and can no longer change.",
    }


class SnapshotNotCompleted(Conflict):
    code = "census_snapshot_not_completed"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Алдымен есепті аяқтаңыз.",
        "ru": "Сначала завершите учёт.",
        "en": "Complete the census first.",
    }


class AlreadyReported(Conflict):
    code = "census_already_reported"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Есеп министрлікке жіберілген.",
        "ru": "Отчёт уже направлен в министерство.",
        "en": "The report has already been sent to the ministry.",
    }


class NotALeaver(Conflict):
    code = "census_not_a_leaver"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл бала осы мектептен шықпаған (контингент бойынша).",
        "ru": "Этот ребёнок не выбывал из этой школы (по данным контингента).",
        "en": "This child did not leave this school (per the contingent store).",
    }
