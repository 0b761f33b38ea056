"""Errors of the transfer service (each with a stable code and kk/ru/en messages)."""

from __future__ import annotations

from typing import ClassVar

from admission.errors import Conflict, Forbidden, InvalidInput, Language, NotFound


class UnknownTransfer(NotFound):
    code = "unknown_transfer"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мұндай ауысу өтініші жоқ.",
        "ru": "Такого заявления о переводе нет.",
        "en": "No such transfer.",
    }


class InvalidTransfer(InvalidInput):
    code = "invalid_transfer"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Ауысу өтінішінің деректері дұрыс емес: {problem}.",
        "ru": "Неверные данные заявления о переводе: {problem}.",
        "en": "The transfer request is not valid: {problem}.",
    }


class PupilNotEnrolled(Conflict):
    code = "pupil_not_enrolled"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Оқушы контингентте ешбір мектепте тіркелмеген.",
        "ru": "Ученик не числится ни в одной школе по данным контингента.",
        "en": "The pupil is not currently enrolled in any school (per the contingent store).",
    }


class TransferInProgress(Conflict):
    code = "transfer_in_progress"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл оқушының ауысуы қазір қаралуда.",
        "ru": "Перевод этого ученика уже рассматривается.",
        "en": "A transfer of this pupil is already in progress.",
    }


class WrongStage(Conflict):
    code = "transfer_wrong_stage"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Ауысу бұл әрекетке сәйкес кезеңде емес (қазір: {status}).",
        "ru": "Перевод не на том этапе для этого действия (сейчас: {status}).",
        "en": "The transfer is not at a stage that allows this (now: {status}).",
    }


class NotThisSchool(Forbidden):
    code = "not_this_school"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Бұл әрекетті тек {role} мектептің әкімшісі жасай алады.",
        "ru": "Это действие может выполнить только администратор {role} школы.",
        "en": "Only an admin of the {role} school may do this.",
    }


class MinistryOnly(Forbidden):
    code = "ministry_only"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Мұны тек министрлік әкімшісі өзгерте алады.",
        "ru": "Это может изменить только администратор министерства.",
        "en": "Only a ministry admin may change this.",
    }


class InvalidSignature(InvalidInput):
    code = "invalid_signature"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Қолтаңба жарамсыз.",
        "ru": "Подпись недействительна.",
        "en": "The signature is not valid.",
    }
