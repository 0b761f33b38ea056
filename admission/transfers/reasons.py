"""Refusal reasons: the grounds of annex 2 item 9 and the rules that lead to them."""

from __future__ import annotations

from admission.transfers.models import Refusal

# Annex 2, item 9 (model rules): every refusal names one of these.
GROUNDS: dict[int, tuple[str, str, str]] = {
    1: (
        "құжаттардың және (немесе) деректердің дәйексіздігі анықталды",
        "установлена недостоверность документов и (или) данных",
        "the documents or data were found unreliable",
    ),
    2: (
        "алушы және (немесе) материалдар заң талаптарына сәйкес келмейді",
        "получатель и (или) материалы не соответствуют требованиям законодательства",
        "the recipient or the materials do not meet the legal requirements",
    ),
    3: (
        "уәкілетті мемлекеттік органның теріс жауабы немесе теріс сараптама",
        "отрицательный ответ уполномоченного государственного органа или отрицательное заключение экспертизы",
        "a negative answer from an authorised state body, or a negative expertise",
    ),
    4: (
        "қызметке тыйым салатын сот шешімі",
        "решение суда о запрете деятельности",
        "a court decision prohibiting the activity",
    ),
    5: (
        "алушыны арнаулы құқықтан айыратын сот үкімі",
        "приговор суда о лишении получателя специального права",
        "a court verdict depriving the recipient of the special right",
    ),
    6: (
        "қолжетімділігі шектеулі дербес деректерге қол жеткізуге келісім жоқ",
        "нет согласия на доступ к персональным данным ограниченного доступа",
        "no consent to access restricted personal data",
    ),
    7: (
        "сынып жинақтары толық",
        "классы-комплекты укомплектованы",
        "the class sets are full",
    ),
}

# The legal basis a refusal receipt cites (the annex 2 form: Law on state services art. 19-1
# item 2, and the sanitary rules ҚР ДСМ-76 annex 2 for full class sets), per ground.
STATE_SERVICES_LAW = "Law on state services, art. 19-1 item 2"
MODEL_RULES_ITEM_9 = "model rules No. 564, annex 2 item 9"


def legal_basis(ground: int | None, *paragraphs: str) -> str:
    """The receipt's legal basis: the paragraphs applied, the ground of item 9 and the law behind it."""
    parts = [f"model rules No. 564, {p}" for p in paragraphs]
    if ground is not None:
        parts.append(f"{MODEL_RULES_ITEM_9}, ground {ground}")
        parts.append(STATE_SERVICES_LAW)
    if ground == 7:
        parts.append("sanitary rules ҚР ДСМ-76, annex 2")
    if ground == 6:
        parts.append("Law on personal data and their protection, art. 8")
    return "; ".join(parts)


# The rules this service applies itself: code -> (ground, kk, ru, en).
RULES: dict[str, tuple[int | None, str, str, str]] = {
    "not_school_holidays": (
        2,
        "мектепке ауысу тек мектеп демалысы кезінде қабылданады (17-тармақ); өтініш демалыстан тыс берілді",
        "перевод принимается только в период каникул (п. 17); заявление подано вне каникул",
        "transfers on this ground are accepted only during school holidays (para 17); this one came outside them",
    ),
    "grade_10_11_august_only": (
        2,
        "негізгі орта білім туралы құжат негізінде 10 (11) сыныпқа өтініштер 1-31 тамызда қабылданады (27-т.)",
        "заявления о приёме в 10 (11) класс по аттестату об основном среднем образовании: 1-31 августа (п. 27)",
        "admission to grade 10 (11) on the basic secondary certificate is applied for 1-31 August (para 27)",
    ),
    "no_consent": (
        6,
        "қолжетімділігі шектеулі дербес деректерді пайдалануға келісім берілмеді",
        "не дано согласие на использование персональных данных ограниченного доступа",
        "no consent was given to use restricted personal data",
    ),
    "class_full": (
        7,
        "қабылдайтын мектептің осы сынып пен оқыту тіліндегі сынып жинақтары толық (25-тармақ)",
        "классы-комплекты принимающей школы по этому классу и языку обучения укомплектованы (п. 25)",
        "the receiving school's class sets of this grade and language are full (para 25)",
    ),
    "talon_expired": (
        None,
        "келу талоны 3 жұмыс күні ішінде ұсынылмады (20, 23-тармақтар)",
        "талон о прибытии не представлен в течение 3 рабочих дней (пп. 20, 23)",
        "the arrival talon was not presented within its 3 working days (paras 20, 23)",
    ),
}


# The paragraphs each rule applies (the receipt's legal basis).
RULE_PARAGRAPHS: dict[str, tuple[str, ...]] = {
    "not_school_holidays": ("para 17",),
    "grade_10_11_august_only": ("para 27",),
    "no_consent": ("annex 2 form (consent)",),
    "class_full": ("para 25",),
    "talon_expired": ("para 20", "para 23"),
}


def rule_refusal(code: str) -> Refusal:
    ground, kk, ru, en = RULES[code]
    return Refusal(
        ground=ground,
        code=code,
        reason_kk=kk,
        reason_ru=ru,
        reason_en=en,
        legal_basis=legal_basis(ground, *RULE_PARAGRAPHS[code]),
    )


def school_refusal(ground: int, detail: str | None) -> Refusal:
    """A school's own motivated refusal on ``ground`` of annex 2 item 9 (``detail``: its reason, para 19)."""
    kk, ru, en = GROUNDS[ground]
    return Refusal(
        ground=ground,
        code=f"ground_{ground}",
        reason_kk=kk,
        reason_ru=ru,
        reason_en=en,
        legal_basis=legal_basis(ground, "para 19"),
        detail=detail,
    )


def stored_refusal(ground: int | None, code: str, detail: str | None) -> Refusal:
    """Rebuild the refusal of a stored transfer."""
    if code in RULES:
        return rule_refusal(code)
    assert ground is not None
    return school_refusal(ground, detail)
