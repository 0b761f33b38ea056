"""The waiting page for parents: ``GET /rooms/{region}``.

Kazakh by default, Russian or English by ``?lang=`` or ``Accept-Language``.
The page joins (demo mode: the parent types the ИИН; assertion mode: the
portal passes ``#assertion=<jwt>`` in the URL fragment), then polls the JSON
API at the suggested interval, shows position, people ahead, ETA and a
progress bar, and redirects by itself when admitted.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.params import FromPath

from admission.errors import Language
from queue_service.pages import render_region_page, script
from queue_service.resources import DbDep, SettingsDep

_SCRIPT = script("room.js")

TEXT: dict[Language, dict[str, str]] = {
    "kk": {
        "title": "Күту залы",
        "lead": "1-сыныпқа өтініш беру кезегі. Кезегіңіз келгенде бет өздігінен ауысады.",
        "iin": "Ата-ананың ЖСН",
        "join": "Кезекке тұру",
        "position": "Кезектегі орныңыз",
        "ahead": "Алдыңызда",
        "eta": "Болжамды күту",
        "admitted": "Кезегіңіз келді! Өтініш бетіне өтіп жатырмыз…",
        "expired": "Кезектегі орныңыз жойылды (ұзақ уақыт белсенді болмадыңыз). Қайта тұрыңыз.",
        "closed": "Бұл өңірде өтініш қабылдау аяқталды.",
        "not_open": "Кезек әлі ашылған жоқ. Ашылу уақыты:",
        "full": "Кезек толы. Автоматты түрде қайталаймыз:",
        "opens": "Қабылдау басталады:",
        "seconds": "с",
        "minutes": "мин",
        "hours": "сағ",
        "people": "адам",
        "error": "Қате:",
        "demo": "Демо режимі: терезе уақытша ашылған.",
        "paused": "Кезек уақытша тоқтатылды. Орныңыз сақталады, бет өзі жалғастырады.",
    },
    "ru": {
        "title": "Зал ожидания",
        "lead": "Очередь на подачу заявления в 1 класс. Когда подойдёт ваша очередь, страница откроется сама.",
        "iin": "ИИН родителя",
        "join": "Встать в очередь",
        "position": "Ваше место в очереди",
        "ahead": "Перед вами",
        "eta": "Ожидаемое время",
        "admitted": "Ваша очередь! Переходим к заявлению…",
        "expired": "Ваше место в очереди утрачено (вы долго были неактивны). Встаньте в очередь снова.",
        "closed": "Приём заявлений в этом регионе завершён.",
        "not_open": "Очередь ещё не открыта. Откроется:",
        "full": "Очередь заполнена. Повторим автоматически через:",
        "opens": "Приём начнётся:",
        "seconds": "с",
        "minutes": "мин",
        "hours": "ч",
        "people": "чел.",
        "error": "Ошибка:",
        "demo": "Демо-режим: окно приёма открыто временно.",
        "paused": "Очередь временно приостановлена. Ваше место сохраняется, страница продолжит сама.",
    },
    "en": {
        "title": "Waiting room",
        "lead": "The queue to apply for grade 1. When your turn comes this page moves on by itself.",
        "iin": "Parent's IIN",
        "join": "Join the queue",
        "position": "Your place in the queue",
        "ahead": "Ahead of you",
        "eta": "Estimated wait",
        "admitted": "It is your turn! Taking you to the application…",
        "expired": "Your place was lost (no activity for a long time). Please join again.",
        "closed": "Applications in this region have closed.",
        "not_open": "The queue is not open yet. It opens at:",
        "full": "The queue is full. We will retry automatically in:",
        "opens": "Admission starts at:",
        "seconds": "s",
        "minutes": "min",
        "hours": "h",
        "people": "people",
        "error": "Error:",
        "demo": "Demo mode: the window is open temporarily.",
        "paused": "The queue is paused for now. Your place is kept; this page carries on by itself.",
    },
}


# The page's look (countdown, keep-the-tab-open note, screen-reader announcements, pause).
LOOK_TEXT: dict[Language, dict[str, str]] = {
    "kk": {
        "opens_in": "Қабылдау басталғанға дейін:",
        "iin_help": "12 цифр. Кезекте бір ЖСН-ге бір орын беріледі.",
        "paused": "Кіргізу уақытша тоқтатылды. Орныңыз сақталады.",
        "keep_open": "Бұл бетті жаппаңыз және жаңартпаңыз: кезегіңіз келгенде ол өзі өтініш бетіне ауысады. "
        "Кезекті бірнеше қойындыда ашудың қажеті жоқ.",
        "announce": "Кезектегі орныңыз: {position}. Алдыңызда: {ahead} адам.",
        "days": "күн",
    },
    "ru": {
        "opens_in": "До начала приёма:",
        "iin_help": "12 цифр. Один ИИН — одно место в очереди.",
        "paused": "Допуск временно приостановлен. Ваше место сохраняется.",
        "keep_open": "Не закрывайте и не обновляйте эту вкладку: когда подойдёт очередь, она сама откроет "
        "заявление. Открывать очередь в нескольких вкладках не нужно.",
        "announce": "Ваше место в очереди: {position}. Перед вами: {ahead} чел.",
        "days": "дн.",
    },
    "en": {
        "opens_in": "Admission opens in:",
        "iin_help": "12 digits. One IIN holds one place in the queue.",
        "paused": "Admission is paused for now. Your place is kept.",
        "keep_open": "Keep this tab open and do not reload it: when your turn comes it opens the application "
        "by itself. There is no need to open the queue in several tabs.",
        "announce": "Your place in the queue: {position}. Ahead of you: {ahead}.",
        "days": "d",
    },
}


# The proof-of-work widget's own words (ALTCHA's Kazakh and Russian translations, MIT, see
# static/altcha/LICENSE.txt), kept here with the page's other texts; challenge.js hands them to the
# widget.  English is the widget's built-in language.
CHALLENGE_TEXT: dict[Language, dict[str, str]] = {
    "kk": {
        "ariaLinkLabel": "Altcha (ресми веб-сайт)",
        "enterCode": "Кодты енгізіңіз",
        "enterCodeAria": "Естіген кодыңызды енгізіңіз. Аудионы ойнату үшін Бос орынды басыңыз.",
        "error": "Тексеру сәтсіз аяқталды. Кейінірек қайталаңыз.",
        "expired": "Тексеру мерзімі аяқталды. Қайталаңыз.",
        "footer": '<a href="https://altcha.org/" tabindex="-1" target="_blank" aria-label="Altcha (ресми веб-сайт)">'
        "ALTCHA</a> қорғайды",
        "getAudioChallenge": "Аудио сынақ алу",
        "label": "Мен робот емеспін",
        "loading": "Жүктелуде...",
        "reload": "Қайта жүктеу",
        "verify": "Тексеру",
        "verificationRequired": "Тексеру талап етіледі!",
        "verified": "Тексерілді",
        "verifying": "Тексеруде...",
        "waitAlert": "Тексерілуде... күте тұрыңыз.",
        "cancel": "Болдыру",
        "enterCodeFromImage": "Жалғастыру үшін төмендегі суреттегі кодты енгізіңіз.",
    },
    "ru": {
        "ariaLinkLabel": "Altcha (официальный сайт)",
        "enterCode": "Введите код",
        "enterCodeAria": "Введите код, который слышите. Нажмите пробел для воспроизведения аудио.",
        "error": "Ошибка верификации. Попробуйте позже.",
        "expired": "Срок действия верификации истек. Попробуйте снова.",
        "footer": 'Защищено <a href="https://altcha.org/" tabindex="-1" target="_blank" '
        'aria-label="Altcha (официальный сайт)">ALTCHA</a>',
        "getAudioChallenge": "Получить аудио задачу",
        "label": "Я не робот",
        "loading": "Загрузка...",
        "reload": "Перезагрузить",
        "verify": "Проверить",
        "verificationRequired": "Требуется проверка!",
        "verified": "Проверено",
        "verifying": "Идет проверка...",
        "waitAlert": "Идет проверка... Пожалуйста, подождите.",
        "cancel": "Отмена",
        "enterCodeFromImage": "Чтобы продолжить, пожалуйста, введите код с изображения ниже.",
    },
}


@get("/rooms/{region:str}", media_type=MediaType.HTML, include_in_schema=False, cache=False)
async def waiting_page(
    region: FromPath[str], db: DbDep, settings: SettingsDep, request: Request[Any, Any, Any]
) -> Response[str]:
    # The room's proof-of-work switch (``flood``), as this worker's snapshot of the room has it.
    visitors = request.app.state["visitors"]
    challenge = region in visitors.regions and (await visitors.snapshot(region)).settings.challenge
    return await render_region_page(
        request,
        db,
        region,
        challenge=challenge,
        template="room.html",
        texts={language: {**LOOK_TEXT[language], **TEXT[language]} for language in TEXT},
        page_script=_SCRIPT,
        config={"portalAuth": settings.portal_auth, **({"challengeText": CHALLENGE_TEXT} if challenge else {})},
        portal_auth=settings.portal_auth,
    )
