"""Kazakh, Russian and English labels of the registration's grounds, states and kinds.

The Kazakh texts follow the seed (order No. 398, paras 21-23); the Russian are the
recommendations' Russian wording; the English are for the API's readers.
"""

from __future__ import annotations

from admission.errors import Language

Labels = dict[Language, str]


def _l(kk: str, ru: str, en: str) -> Labels:
    return {"kk": kk, "ru": ru, "en": en}


# Para 22: the ten grounds for intra-school registration.
GROUNDS: dict[int, Labels] = {
    1: _l("академиялық үлгермеушілік", "академическая неуспеваемость", "academic failure"),
    2: _l("отбасындағы жайсыздықтар", "неблагополучие в семье", "family trouble"),
    3: _l(
        "қадағалаусыздық, панасыздық, қаңғыбастық, қайыршылық",
        "безнадзорность, беспризорность, бродяжничество, попрошайничество",
        "neglect, homelessness, vagrancy, begging",
    ),
    4: _l(
        "мектептің Жарғысын және ішкі тәртіп ережесін өрескел немесе бірнеше рет бұзу",
        "грубое или неоднократное нарушение Устава школы и правил внутреннего распорядка",
        "gross or repeated breach of the school charter or internal rules",
    ),
    5: _l(
        "сабақтарға дәлелсіз себептермен жүйелі түрде қатыспау",
        "систематические пропуски занятий без уважительных причин",
        "systematic truancy",
    ),
    6: _l(
        "әкімшілік құқық бұзушылық жасау", "совершение административного правонарушения", "an administrative offence"
    ),
    7: _l(
        "психикалық белсенді, уытты заттарды, есірткі құралдарын, спиртті ішімдіктерді тұтыну, темекі шегу",
        "употребление психоактивных, токсических, наркотических веществ, алкоголя, курение",
        "substance use (psychoactive, toxic or narcotic substances, alcohol, tobacco)",
    ),
    8: _l(
        "ойынға және интернетке тәуелділік, лудомания",
        "игровая и интернет-зависимость, лудомания",
        "gaming or internet addiction",
    ),
    9: _l(
        "теріс бейресми балалар-жастар топтары мен бірлестіктеріне, теріс жастар субмәдениеттеріне қатысу",
        "участие в негативных неформальных детско-молодёжных группах и объединениях, негативных субкультурах",
        "negative informal youth groups or subcultures",
    ),
    10: _l(
        "діни ағымдар мен радикалды көзқарастарды ұстану",
        "приверженность религиозным течениям и радикальным взглядам",
        "religious currents and radical views",
    ),
}
TRUANCY_GROUND = 5

STATES: dict[str, Labels] = {
    "open": _l("кеңестің шешімін күтуде", "ожидает решения совета", "awaiting the council"),
    "registered": _l("МЕА-да тұр", "состоит на ВШУ", "registered"),
    "refused": _l("есепке қоюдан бас тартылды", "в постановке на учёт отказано", "registration refused"),
    "removed": _l("МЕА-дан шығарылды", "снят с ВШУ", "removed from the register"),
}

SOURCES: dict[str, Labels] = {
    "request": _l("қызметкердің өтініші (4-т.)", "ходатайство работника (п. 4)", "a staff request (para 4)"),
    "outside": _l("мүдделі органның ақпараты (11-т.)", "информация заинтересованного органа (п. 11)",
                  "information from an outside body (para 11)"),
}  # fmt: skip

REQUESTERS: dict[str, Labels] = {
    "class_teacher": _l("сынып жетекшісі", "классный руководитель", "class teacher"),
    "social_pedagogue": _l("әлеуметтік педагог", "социальный педагог", "social pedagogue"),
    "subject_teacher": _l("пән мұғалімі", "учитель-предметник", "subject teacher"),
    "other": _l("басқа мүдделі тұлға", "иное заинтересованное лицо", "another interested person"),
}

OUTSIDE_BODIES: dict[str, Labels] = {
    "police": _l("ішкі істер органдары", "органы внутренних дел", "the police"),
    "health": _l("денсаулық сақтау", "здравоохранение", "health care"),
    "social_protection": _l("халықты әлеуметтік қорғау", "социальная защита населения", "social protection"),
    "family_support": _l("отбасын қолдау орталығы", "центр поддержки семьи", "a family support centre"),
    "religious_affairs": _l("дін істері саласындағы орган", "орган по делам религий", "religious affairs"),
    "other": _l("басқа орган немесе ұйым", "иной орган или организация", "another body"),
}

# Para 23.
REMOVAL_REASONS: dict[str, Labels] = {
    "responsible_request": _l("жауапты адамның өтініші", "ходатайство ответственного лица",
                              "the responsible person's request"),
    "positive_references": _l(
        "сынып жетекшісінің, психологиялық қызметтің оң мінездемесі",
        "положительная характеристика классного руководителя, психологической службы",
        "positive references of the class teacher and the psychological service",
    ),
    "relocation": _l("көшу", "переезд", "moving away"),
    "school_change": _l("оқу орнын ауыстыру", "смена места учёбы", "change of school"),
}  # fmt: skip

# Para 21: what the administration proposes to the territorial commission for minors.
REFERRAL_KINDS: dict[str, Labels] = {
    "parents_duties": _l(
        "ата-аналарға қатысты материалды қарау (міндеттерін орындамау)",
        "рассмотрение материала в отношении родителей, не исполняющих обязанности",
        "consider the parents' failure to keep, bring up or educate the minor",
    ),
    "parents_measures": _l(
        "ата-аналарға ықпал етудің әкімшілік шаралары",
        "административные меры воздействия на родителей",
        "administrative measures towards the parents",
    ),
    "minor_offence": _l(
        "әкімшілік құқық бұзушылық жасаған кәмелетке толмағанға қатысты материал",
        "материал в отношении несовершеннолетнего, совершившего административное правонарушение",
        "consider the minor's administrative offence",
    ),
}

DEADLINES: dict[str, Labels] = {
    "registration": _l("ақпаратты тіркеу (11-т., 1 жұмыс күні)", "регистрация информации (п. 11, 1 рабочий день)",
                       "register the information (para 11, 1 working day)"),
    "initial_data": _l("бастапқы ақпаратты жинау (12-т., 2 жұмыс күні)",
                       "сбор первичной информации (п. 12, 2 рабочих дня)",
                       "collect the initial data (para 12, 2 working days)"),
    "report_back": _l("шешім туралы хабарлау (20-т., 1 жұмыс күні)", "сообщение о решении (п. 20, 1 рабочий день)",
                      "report the decision back (para 20, 1 working day)"),
}  # fmt: skip

DEADLINE_STATES: dict[str, Labels] = {
    "due": _l("мерзімі өтпеген", "в срок", "due"),
    "overdue": _l("мерзімі өтті", "просрочено", "overdue"),
    "done": _l("орындалды", "выполнено", "done"),
    "done_late": _l("кешіктіріліп орындалды", "выполнено с опозданием", "done late"),
}

COUNCIL_ROLES: dict[str, Labels] = {
    "chair": _l("төраға", "председатель", "chair"),
    "secretary": _l("хатшы", "секретарь", "secretary"),
    "member": _l("мүше", "член", "member"),
}

PARTICIPANT_KINDS: dict[str, Labels] = {
    "member": _l("кеңес мүшесі", "член совета", "council member"),
    "invited": _l("шақырылған маман", "приглашённый специалист", "invited specialist"),
    "parent": _l("ата-ана немесе заңды өкіл", "родитель или законный представитель", "parent or legal representative"),
}

ALL: dict[str, dict[str, Labels]] = {
    "grounds": {str(k): v for k, v in GROUNDS.items()},
    "states": STATES,
    "sources": SOURCES,
    "requesters": REQUESTERS,
    "outside_bodies": OUTSIDE_BODIES,
    "removal_reasons": REMOVAL_REASONS,
    "referral_kinds": REFERRAL_KINDS,
    "deadlines": DEADLINES,
    "deadline_states": DEADLINE_STATES,
    "council_roles": COUNCIL_ROLES,
    "participant_kinds": PARTICIPANT_KINDS,
}
