"""Deciding, reading, withdrawing and confirming grade-1 applications.

PostgreSQL is the truth for seats.  A decision is one SQL statement
(``decide_seat``): a conditional ``UPDATE`` of the class-set row takes a seat
only while one is free, and the application is inserted with the outcome in
the same statement, so concurrent applicants for the last seat queue on that
row and exactly one of them gets it; CHECK constraints on the row make
overbooking impossible even for a buggy caller.  Seats held for the
pre-school roster (pilot para 4) are counted apart and roster children
applying to their own school take them, in any language: the held seat moves
to the language asked for (``roster.admission_language``).  A roster child
applying to another school competes on the general basis, and their held
seat stays held until the school takes them off its roster (the rules
promise them the seat; only the school knows they will not come).

Filing is idempotent: an answer lost on the way never turns into a refusal.
The same slot (access token ``jti``) sending the same form again, or the same
applicant sending the same ``Idempotency-Key`` with the same form, gets the
first decision back (a corrected form is a new filing: consent ticked after a
refusal is decided anew), with its withdraw token (derived from the application id
with a server secret, so it can be given again; only its hash is stored).  The
same key with another form is refused (``idempotency_key_reused``); while a
request with a key is being decided, another with that key gets
``idempotency_in_progress`` (the IETF draft "The Idempotency-Key HTTP Header
Field").  Unique indexes make it hold under any concurrency; the first
decision's lookup rides on the context query, so a first filing costs no
extra round trip.

The order of the checks: the region's window (pilot para 7; UTC+5), consent
(annex 2 item 9 ground 6), grade-1 age (``AgeRule``, ground 2; not for
roster children), one live application per child nationwide (ground 2,
pointing to the live one), then capacity (ground 7; a roster child's seat is
held).  Refusals are recorded too: the applicant reads the
receipt later with the same token.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
import msgspec

from admission import audit, locks
from admission.access import AccessClaims
from admission.applications import roster
from admission.applications.models import (
    GROUNDS,
    LEGAL_BASIS,
    REASONS,
    AgeRule,
    AlreadyFiled,
    ApplicantMismatch,
    Application,
    ApplicationRequest,
    Filed,
    ForeignRegion,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    LanguageNotOffered,
    NotConfirmable,
    NotWithdrawable,
    Receipt,
    Refusal,
    RefusalCode,
    UnknownApplication,
    WrongWithdrawToken,
)
from admission.contingent.events import EVENT_ENCODER, Enrol, Revoke
from admission.contingent.outbox import enqueue, enqueue_many
from admission.db import QUERIES, Connection, NamedQuery, from_row
from admission.errors import UnknownSchool
from admission.iin import birth_date, validate_iin
from admission.portal import Applicant
from admission.readings import DEFAULT_READINGS, Readings
from admission.reference import KZ, school_region
from admission.signing_keys import AdminPrincipal

LIVE_INDEX = "applications_one_live_idx"
REPLAY_INDEXES = frozenset({"applications_filing_key_idx", "applications_idempotency_key_idx"})
RECEIPT_FORM = "model rules (order No. 564), annex 2: receipt of refusal to accept documents"
DOCUMENTS = ["application for admission to grade 1 (electronic, egov portal)"]
CONSENT_DOCUMENT = "consent to use restricted personal data"


def new_token() -> tuple[str, bytes]:
    """A withdraw token and the hash stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def withdraw_secret(signing_key_raw: bytes) -> bytes:
    """The secret withdraw tokens are derived with (from the signing key: the same on every worker)."""
    return hashlib.blake2b(signing_key_raw, key=b"kezek-withdraw-token", digest_size=32).digest()


def derived_token(secret: bytes, application_id: uuid.UUID) -> tuple[str, bytes]:
    """The withdraw token of ``application_id`` and its hash: the same every time it is asked for."""
    mac = hmac.new(secret, application_id.bytes, hashlib.sha256).digest()
    token = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return token, token_hash(token)


def request_hash(form: ApplicationRequest) -> bytes:
    """What an Idempotency-Key's request is compared by."""
    return hashlib.sha256(msgspec.json.encode(form)).digest()


def auto_order_number(region: str, day: dt.date) -> str:
    """The order reference of an automatically confirmed admission."""
    return f"AUTO-{region}-{day:%Y%m%d}"


def enrolment_start(order_date: dt.date, decided_at: dt.datetime) -> dt.date:
    """Grade 1 starts on 1 September of the admission year, or on the order's date when later."""
    return max(order_date, dt.date(decided_at.astimezone(KZ).year, 9, 1))


class Filing(msgspec.Struct, frozen=True, kw_only=True):
    """What makes a filing the same as an earlier one: the slot (the access token's ``jti``) and the
    form, or the Idempotency-Key; and the secret its withdraw token is derived from (None: random)."""

    filing_key: str
    idempotency_key: str | None
    request_hash: bytes | None
    secret: bytes | None

    @classmethod
    def of(
        cls, form: ApplicationRequest, claims: AccessClaims, idempotency_key: str | None, secret: bytes | None
    ) -> Filing:
        hashed = request_hash(form)
        return cls(
            filing_key=f"{claims.jti}:{hashed.hex()}",
            idempotency_key=idempotency_key,
            request_hash=None if idempotency_key is None else hashed,
            secret=secret,
        )


class NewApplication(msgspec.Struct, frozen=True, kw_only=True):
    """The columns every new application row gets, whatever the decision."""

    id: uuid.UUID
    applicant_iin: str
    applicant_full_name: str | None
    child_iin: str
    school_bin: str
    region_slug: str
    language: str
    decided_at: dt.datetime
    withdraw_token_hash: bytes
    access_jti: str
    filing_key: str
    idempotency_key: str | None
    request_hash: bytes | None


class SeatDecision(NewApplication, frozen=True, kw_only=True):
    """The named parameters of ``decide_seat``."""

    priority: bool
    auto_confirm: bool
    order_number: str | None = None
    order_date: dt.date | None = None
    enrol_event: str | None = None


class RefusedApplication(NewApplication, frozen=True, kw_only=True):
    """The named parameters of ``insert_refused``."""

    consent: bool
    refusal_ground: int | None
    refusal_code: RefusalCode
    duplicate_of: uuid.UUID | None


DECIDE_SEAT = NamedQuery("decide_seat", SeatDecision)
INSERT_REFUSED = NamedQuery("insert_refused", RefusedApplication)


async def file_application(
    conn: Connection,
    form: ApplicationRequest,
    *,
    claims: AccessClaims,
    age_rule: AgeRule,
    now: dt.datetime,
    readings: Readings = DEFAULT_READINGS,
    idempotency_key: str | None = None,
    token_secret: bytes | None = None,
) -> Filed:
    """Decide ``form`` at once and record the decision, or give back the decision it repeats.

    ``claims`` is the verified waiting-room access token; the school must be in
    its region and the applicant must be its subject.  ``token_secret``
    (:func:`withdraw_secret`) derives withdraw tokens so that a repeated filing gets
    its token again; without it tokens are random and a repeat is refused as
    ``already_filed``.
    """
    validate_iin(form.applicant_iin)
    validate_iin(form.child_iin)
    if form.applicant_iin != claims.applicant_iin:
        raise ApplicantMismatch()
    filing = Filing.of(form, claims, idempotency_key, token_secret)
    try:
        if idempotency_key is None:
            return await _file(conn, form, filing, claims, age_rule, now, readings)
        async with conn.transaction():  # holds the key's lock until the decision is committed
            return await _file(conn, form, filing, claims, age_rule, now, readings)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name not in REPLAY_INDEXES:
            raise
    # An identical filing was decided at the same moment: its decision is the answer.
    replay = await conn.fetchrow(
        QUERIES["replay_application"], filing.filing_key, form.applicant_iin, filing.idempotency_key
    )
    assert replay is not None
    return await _replay(conn, replay, filing)


async def repeat_of(conn: Connection, form: ApplicationRequest, filing: Filing) -> Filed | None:
    """The decision ``form`` repeats (same slot and form, or same Idempotency-Key), if any.

    For an edge that refuses a filing whose slot has ended: a repeat of a filing that
    ended the slot must still get its first answer, not ``session_ended``.
    """
    found = await conn.fetchrow(
        QUERIES["replay_application"], filing.filing_key, form.applicant_iin, filing.idempotency_key
    )
    return None if found is None else await _replay(conn, found, filing)


async def _replay(conn: Connection, found: asyncpg.Record, filing: Filing) -> Filed:
    """The earlier decision this filing repeats, with its withdraw token."""
    if found["replay_by_key"] and bytes(found["replay_request_hash"]) != filing.request_hash:
        raise IdempotencyKeyReused()
    application_id: uuid.UUID = found["replay_id"]
    row = await conn.fetchrow(QUERIES["get_application"], application_id)
    assert row is not None
    if filing.secret is None:
        raise AlreadyFiled(application_id=str(application_id))
    token, hashed = derived_token(filing.secret, application_id)
    if not hmac.compare_digest(bytes(row["withdraw_token_hash"]), hashed):  # e.g. the signing key was replaced
        raise AlreadyFiled(application_id=str(application_id))
    return Filed(application=_application(dict(row)), withdraw_token=token, replayed=True)


async def _file(
    conn: Connection,
    form: ApplicationRequest,
    filing: Filing,
    claims: AccessClaims,
    age_rule: AgeRule,
    now: dt.datetime,
    readings: Readings,
) -> Filed:
    context = await conn.fetchrow(
        QUERIES["application_context"],
        form.school_bin,
        form.child_iin,
        form.language,
        filing.filing_key,
        form.applicant_iin,
        filing.idempotency_key,
        locks.IDEMPOTENCY_KEY,
    )
    if context is None:
        raise UnknownSchool(school=form.school_bin)
    if not context["key_free"]:
        raise IdempotencyInProgress(retry_after=1)
    if context["replay_id"] is not None:
        return await _replay(conn, context, filing)
    region: str = context["region_slug"]
    if region != claims.region:
        raise ForeignRegion(region=claims.region, school_region=region)
    if not context["offers_language"]:
        raise LanguageNotOffered(language=form.language)

    application_id = uuid.uuid4()
    token, hashed = new_token() if filing.secret is None else derived_token(filing.secret, application_id)
    row: dict[str, Any] = {
        "id": application_id,
        "applicant_iin": form.applicant_iin,
        "applicant_full_name": form.applicant_full_name,
        "child_iin": form.child_iin,
        "school_bin": form.school_bin,
        "region_slug": region,
        "grade": 1,
        "language": form.language,
        "consent": form.consent,
        "priority": False,
        "decided_at": now,
        "withdrawn_at": None,
        "confirmed_at": None,
        "order_number": None,
        "order_date": None,
        "duplicate_of": None,
        "school_name_kk": context["school_name_kk"],
        "school_name_ru": context["school_name_ru"],
    }
    refusal = _refusal_before_seat(form, context, age_rule, now)
    live_id = context["live_application_id"]
    auto = bool(context["auto_confirm"])
    priority = context["roster_language"] is not None  # pilot para 4: in any language
    if refusal is None and priority:
        language = await roster.admission_language(
            conn, form.school_bin, form.child_iin, context["roster_language"], form.language, readings
        )
        if language is None:
            refusal = "class_full"
        elif language != form.language:
            form = msgspec.structs.replace(form, language=language)
            row["language"] = language
    new = NewApplication(
        id=application_id,
        applicant_iin=form.applicant_iin,
        applicant_full_name=form.applicant_full_name,
        child_iin=form.child_iin,
        school_bin=form.school_bin,
        region_slug=region,
        language=form.language,
        decided_at=now,
        withdraw_token_hash=hashed,
        access_jti=claims.jti,
        filing_key=filing.filing_key,
        idempotency_key=filing.idempotency_key,
        request_hash=filing.request_hash,
    )
    status: str | None = None
    while refusal is None and status is None:
        try:
            status = await _decide(conn, new, priority, auto)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != LIVE_INDEX:
                raise
            # Another application for this child went live meanwhile (filed at the same moment);
            # when that one has been withdrawn since, decide again.
            live_id = await conn.fetchval(QUERIES["live_application"], form.child_iin)
            if live_id is not None:
                refusal = "duplicate_application"
            continue
        if status is None:
            priority = False  # no held seat left for this roster child: the general basis
    if refusal is not None:
        await _insert_refused(conn, new, form.consent, refusal, live_id)
        status = "refused"
    row["status"] = status
    if status == "refused":
        row["refusal_code"] = refusal or "class_full"
        row["refusal_ground"] = REASONS[row["refusal_code"]][0]
        row["duplicate_of"] = live_id if refusal == "duplicate_application" else None
    else:
        row["priority"] = priority
        if status == "confirmed":
            day = now.astimezone(KZ).date()
            row.update(confirmed_at=now, order_number=auto_order_number(region, day), order_date=day)
    return Filed(application=_application(row), withdraw_token=token)


def _refusal_before_seat(
    form: ApplicationRequest, context: asyncpg.Record, age_rule: AgeRule, now: dt.datetime
) -> RefusalCode | None:
    if now < context["window_opens_at"]:
        return "window_not_open"
    if now >= context["window_closes_at"]:
        return "window_closed"
    if not form.consent:
        return "no_consent"
    admission_year = context["window_opens_at"].astimezone(KZ).year
    roster_child = context["roster_language"] is not None  # pilot para 4: admitted without an age check
    if not roster_child and not age_rule.admits(birth_date(form.child_iin), admission_year):
        return "age_out_of_range"
    if context["live_application_id"] is not None:
        return "duplicate_application"
    return None


async def _insert_refused(
    conn: Connection, new: NewApplication, consent: bool, code: RefusalCode, live_id: uuid.UUID | None
) -> None:
    ground, _ = REASONS[code]
    refused = RefusedApplication(
        **msgspec.structs.asdict(new),
        consent=consent,
        refusal_ground=ground,
        refusal_code=code,
        duplicate_of=live_id if code == "duplicate_application" else None,
    )
    await conn.execute(INSERT_REFUSED.sql, *INSERT_REFUSED.args(refused))


async def _decide(conn: Connection, new: NewApplication, priority: bool, auto: bool) -> str | None:
    """Run ``decide_seat``; the status, or None when a priority application found no held seat."""
    if not auto:
        decision = SeatDecision(**msgspec.structs.asdict(new), priority=priority, auto_confirm=False)
        # Inside a transaction (an Idempotency-Key's), a savepoint: a lost race for the child's live
        # application is decided again.
        async with conn.transaction() if conn.is_in_transaction() else contextlib.AsyncExitStack():
            status: str | None = await conn.fetchval(DECIDE_SEAT.sql, *DECIDE_SEAT.args(decision))
        return status
    # Auto-confirmation: the Enrol event goes to the outbox in the same statement, under the
    # child's outbox lock (see admission.contingent.outbox) so per-child order holds.
    day = new.decided_at.astimezone(KZ).date()
    order_number = auto_order_number(new.region_slug, day)
    event = Enrol(
        child_iin=new.child_iin,
        school_bin=new.school_bin,
        grade=1,
        language=new.language,
        order_number=order_number,
        order_date=day,
        since=enrolment_start(day, new.decided_at),
    )
    decision = SeatDecision(
        **msgspec.structs.asdict(new),
        priority=priority,
        auto_confirm=True,
        order_number=order_number,
        order_date=day,
        enrol_event=EVENT_ENCODER.encode(event).decode(),
    )
    async with conn.transaction():
        await conn.execute(QUERIES["outbox_lock_child"], locks.OUTBOX_CHILD, new.child_iin)
        auto_status: str | None = await conn.fetchval(DECIDE_SEAT.sql, *DECIDE_SEAT.args(decision))
    return auto_status


def _check_proof(row: asyncpg.Record, proof: str | Applicant) -> None:
    """The withdraw token issued with the decision, or the portal's applicant who filed it for a
    child they represent (annex 1 para 2)."""
    if isinstance(proof, Applicant):
        proof.require_owner(row["applicant_iin"], row["child_iin"])
    elif not hmac.compare_digest(bytes(row["withdraw_token_hash"]), token_hash(proof)):
        raise WrongWithdrawToken()


async def get_application(
    conn: Connection, application_id: uuid.UUID, proof: str | Applicant | None = None
) -> Application:
    """The application; when ``proof`` is given it must be its withdraw token or its applicant."""
    row = await conn.fetchrow(QUERIES["get_application"], application_id)
    if row is None:
        raise UnknownApplication(application_id=str(application_id))
    if proof is not None:
        _check_proof(row, proof)
    return _application(dict(row))


def _application(row: Mapping[str, Any]) -> Application:
    refusal = None
    if row["status"] == "refused":
        code: RefusalCode = row["refusal_code"]
        ground = row["refusal_ground"]
        reason = REASONS[code][1]
        documents = [*DOCUMENTS, CONSENT_DOCUMENT] if row["consent"] else list(DOCUMENTS)
        refusal = Refusal(
            ground=ground,
            code=code,
            ground_text=None if ground is None else GROUNDS[ground],
            reason=reason,
            first_application_id=row["duplicate_of"],
            receipt=from_row(
                Receipt,
                row,
                form=RECEIPT_FORM,
                documents=documents,
                application_date=row["decided_at"].astimezone(KZ).date(),  # filed and decided at once
                date=row["decided_at"].astimezone(KZ).date(),
                ground=ground,
                reason=GROUNDS[ground] if ground is not None else reason,
                legal_basis=LEGAL_BASIS[code],
            ),
        )
    return from_row(Application, row, region=row["region_slug"], refusal=refusal)


async def withdraw(
    conn: Connection, application_id: uuid.UUID, proof: str | Applicant, now: dt.datetime
) -> Application:
    """Withdraw an accepted or confirmed application (pilot para 6); its seat is free at once.

    Withdrawing again is harmless (the same answer).  A confirmed admission's
    withdrawal sends a Revoke to the contingent store after its Enrol.
    """
    async with conn.transaction():
        row = await conn.fetchrow(QUERIES["lock_application"], application_id)
        if row is None:
            raise UnknownApplication(application_id=str(application_id))
        _check_proof(row, proof)
        if row["status"] == "refused":
            raise NotWithdrawable()
        if row["status"] in ("accepted", "confirmed"):
            await conn.execute(QUERIES["withdraw_application"], application_id, now)
            await conn.execute(
                QUERIES["release_seat"], row["school_bin"], row["grade"], row["language"], row["priority"]
            )
            if row["confirmed_at"] is not None:
                await enqueue(
                    conn, Revoke(child_iin=row["child_iin"], school_bin=row["school_bin"], reason="withdrawn")
                )
    return await get_application(conn, application_id)


async def confirm(
    conn: Connection,
    admin: AdminPrincipal,
    school_bin: str,
    *,
    order_number: str,
    order_date: dt.date,
    application_id: uuid.UUID | None,
    now: dt.datetime,
) -> list[uuid.UUID]:
    """Record the admission order for one accepted application of the school, or all of them.

    Each confirmed admission's Enrol event is written to the outbox in the same transaction.
    """
    async with conn.transaction():
        region = await school_region(conn, school_bin)
        admin.require_school(school_bin, region)
        rows = await conn.fetch(
            QUERIES["confirm_applications"], school_bin, application_id, order_number, order_date, now
        )
        if application_id is not None and not rows:
            status = await conn.fetchval(QUERIES["application_status_at_school"], application_id, school_bin)
            if status is None:
                raise UnknownApplication(application_id=str(application_id))
            raise NotConfirmable(status=status)
        await enqueue_many(
            conn,
            [
                Enrol(
                    child_iin=r["child_iin"],
                    school_bin=school_bin,
                    grade=r["grade"],
                    language=r["language"],
                    order_number=order_number,
                    order_date=order_date,
                    since=enrolment_start(order_date, r["decided_at"]),
                )
                for r in rows
            ],
        )
        confirmed = [r["id"] for r in rows]
        if confirmed:
            await audit.record(
                conn,
                admin,
                "applications.confirm",
                f"school:{school_bin}",
                region=region,
                old={"status": "accepted"},
                new={
                    "status": "confirmed",
                    "order_number": order_number,
                    "order_date": order_date.isoformat(),
                    "applications": [str(i) for i in confirmed],
                },
            )
    return confirmed
