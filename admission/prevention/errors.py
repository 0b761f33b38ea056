"""Errors of intra-school registration (each with a stable code and kk/ru/en messages)."""

from __future__ import annotations

from typing import ClassVar

from admission.errors import Conflict, Forbidden, InvalidInput, Language, NotFound


class OwnSchoolOnly(Forbidden):
    """A case, its minutes and lists are read only by the pupil's own school; others see counts."""

    code = "prevention_own_school_only"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мектепішілік есеп деректерін тек оқушының өз мектебінің әкімшілері көреді; басқаларға тек сандар.",
        "ru": "Сведения внутришкольного учёта видят только администраторы школы ученика; остальным — только числа.",
        "en": "Only the pupil's own school's admins read intra-school registration; others see counts only.",
    }


class InvalidPrevention(InvalidInput):
    code = "prevention_invalid"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мектепішілік есеп деректері дұрыс емес: {problem}.",
        "ru": "Неверные данные внутришкольного учёта: {problem}.",
        "en": "The intra-school registration data is not valid: {problem}.",
    }


class InvalidCouncil(InvalidInput):
    code = "prevention_invalid_council"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Профилактикалық кеңестің құрамы дұрыс емес: {problem}.",
        "ru": "Неверный состав Совета профилактики: {problem}.",
        "en": "The prevention council's composition is not valid: {problem}.",
    }


class NoCouncil(Conflict):
    code = "prevention_no_council"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мектептің Профилактикалық кеңесі әлі бекітілмеген.",
        "ru": "Совет профилактики школы ещё не утверждён.",
        "en": "The school's prevention council has not been approved yet.",
    }


class UnknownCase(NotFound):
    code = "prevention_unknown_case"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл мектепте мұндай іс жоқ.",
        "ru": "В этой школе такого дела нет.",
        "en": "This school holds no such case.",
    }


class UnknownSitting(NotFound):
    code = "prevention_unknown_sitting"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл мектепте мұндай кеңес отырысы жоқ.",
        "ru": "В этой школе такого заседания совета нет.",
        "en": "This school has no such council sitting.",
    }


class SittingNumberTaken(Conflict):
    code = "prevention_sitting_number_taken"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Осы нөмірлі хаттама бар: {number}.",
        "ru": "Протокол с этим номером уже есть: {number}.",
        "en": "Minutes with this number already exist: {number}.",
    }


class PupilNotAtSchool(Conflict):
    code = "prevention_pupil_not_at_school"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Контингент бойынша оқушы бұл мектепте оқымайды.",
        "ru": "По данным контингента ученик не обучается в этой школе.",
        "en": "Per the contingent store the pupil does not study at this school.",
    }


class LiveCaseExists(Conflict):
    code = "prevention_live_case_exists"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл оқушы бойынша іс ашық.",
        "ru": "По этому ученику уже есть открытое дело.",
        "en": "This pupil already has an open case.",
    }


class WrongCaseState(Conflict):
    code = "prevention_wrong_state"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Іс бұл әрекетке сәйкес күйде емес (қазір: {state}).",
        "ru": "Дело не в том состоянии для этого действия (сейчас: {state}).",
        "en": "The case is not in a state that allows this (now: {state}).",
    }


class AssessmentMissing(Conflict):
    code = "prevention_assessment_missing"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Шешімге дейін бастапқы бағалау материалдары ұсынылуы керек (14-т.).",
        "ru": "До решения должны быть представлены материалы первичной оценки (п. 14).",
        "en": "The initial assessment materials must be submitted before the decision (para 14).",
    }


class NoPlan(NotFound):
    code = "prevention_no_plan"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл іс бойынша профилактикалық жеке жұмыс жоспары әлі жоқ.",
        "ru": "Индивидуального плана профилактической работы по этому делу ещё нет.",
        "en": "This case has no individual prevention plan yet.",
    }
