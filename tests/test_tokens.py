"""Access and admin tokens: signed, scoped, expiring; forgeries rejected."""

from __future__ import annotations

import datetime as dt
import time

import jwt
import pytest

from admission import signing_keys
from admission.access import AccessClaims, mint_access_token, verify_access_token
from admission.errors import Forbidden, Unauthenticated
from admission.signing_keys import KeySet, mint_admin_token, verify_admin_token
from admission.waiting_room.errors import SessionEnded

IIN = "191005500021"


def test_access_token_is_for_its_region_and_applicant(keys: KeySet) -> None:
    token = mint_access_token(keys, "astana", IIN, dt.timedelta(minutes=10))
    claims = verify_access_token(keys, token, "astana")
    assert (claims.region, claims.applicant_iin) == ("astana", IIN)
    with pytest.raises(Unauthenticated):
        verify_access_token(keys, token, "almaty-city")


def test_expired_access_token_is_rejected(keys: KeySet) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    token = mint_access_token(keys, "astana", IIN, dt.timedelta(minutes=10), now=past)
    with pytest.raises(Unauthenticated):
        verify_access_token(keys, token, "astana")


def test_token_signed_by_another_key_or_tampered_is_rejected(keys: KeySet) -> None:
    forged = mint_access_token(KeySet.generate(), "astana", IIN, dt.timedelta(minutes=10))
    with pytest.raises(Unauthenticated):
        verify_access_token(keys, forged, "astana")
    genuine = mint_access_token(keys, "astana", IIN, dt.timedelta(minutes=10))
    header, payload, signature = genuine.split(".")
    other_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(IIN.encode(), b"191005500039")
    ).decode()
    with pytest.raises(Unauthenticated):
        verify_access_token(keys, f"{header}.{other_payload}.{signature}", "astana")


def test_hs256_token_with_the_public_key_as_secret_is_rejected(keys: KeySet) -> None:
    claims = {"iss": "kezek", "aud": "astana", "sub": IIN, "jti": "x", "exp": 4_000_000_000}
    token = jwt.encode(claims, "an-hmac-secret-that-is-not-our-key-at-all", algorithm="HS256")
    with pytest.raises(Unauthenticated):
        verify_access_token(keys, token, "astana")


def test_an_access_token_is_not_an_admin_token(keys: KeySet) -> None:
    token = mint_access_token(keys, "astana", IIN, dt.timedelta(minutes=10))
    with pytest.raises(Unauthenticated):
        verify_admin_token(keys, token)


def test_admin_scopes(keys: KeySet) -> None:
    region_admin = verify_admin_token(keys, mint_admin_token(keys, "aigerim", "region", region="astana"))
    region_admin.require_region("astana")
    with pytest.raises(Forbidden):
        region_admin.require_region("abai")
    ministry = verify_admin_token(keys, mint_admin_token(keys, "minister", "ministry"))
    ministry.require_region("abai")
    school = verify_admin_token(keys, mint_admin_token(keys, "dana", "school", region="astana", school="150645269256"))
    school.require_school("150645269256", "astana")
    with pytest.raises(Forbidden):
        school.require_school("290246571117", "astana")
    with pytest.raises(Forbidden):
        school.require_region("astana")  # a school admin does not change region settings


def _outcome(keys: KeySet, token: str, region: str) -> object:
    try:
        return verify_access_token(keys, token, region)
    except Unauthenticated as exc:
        return type(exc), str(exc)


def test_a_token_checked_before_is_judged_as_a_fresh_process_judges_it(keys: KeySet) -> None:
    """The worker skips Ed25519 for a token it signed or checked (``KeySet.verify``): every other
    check still runs, so a remembered token and one a fresh process sees get the same answer."""
    now = dt.datetime.now(dt.UTC)
    tokens = {
        "valid": mint_access_token(keys, "astana", IIN, dt.timedelta(minutes=10)),
        "expired": mint_access_token(keys, "astana", IIN, dt.timedelta(minutes=10), now=now - dt.timedelta(hours=1)),
        "not yet issued": mint_access_token(
            keys, "astana", IIN, dt.timedelta(minutes=10), now=now + dt.timedelta(hours=1)
        ),
    }  # fmt: skip
    fresh = KeySet(keys.private_key)  # the same key, nothing remembered: every check with Ed25519
    for region in ("astana", "almaty-city"):
        for name, token in tokens.items():
            assert _outcome(keys, token, region) == _outcome(fresh, token, region), (name, region)
    assert isinstance(_outcome(keys, tokens["valid"], "astana"), AccessClaims)
    assert _outcome(keys, tokens["expired"], "astana")[0] is SessionEnded  # type: ignore[index]
    assert _outcome(keys, tokens["not yet issued"], "astana")[0] is Unauthenticated  # type: ignore[index]


def test_a_remembered_token_still_expires_and_a_tampered_copy_is_still_refused(keys: KeySet) -> None:
    soon = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=44)
    token = mint_access_token(keys, "astana", IIN, dt.timedelta(seconds=45), now=soon)  # ends in ~1 s
    assert verify_access_token(keys, token, "astana").applicant_iin == IIN
    header, payload, signature = token.split(".")
    longer = jwt.utils.base64url_encode(jwt.utils.base64url_decode(payload).replace(b'"exp":', b'"exp":9')).decode()
    with pytest.raises(Unauthenticated):
        verify_access_token(keys, f"{header}.{longer}.{signature}", "astana")  # its own text: never remembered
    time.sleep(1.2)
    with pytest.raises(SessionEnded):
        verify_access_token(keys, token, "astana")


def test_forgotten_tokens_are_checked_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signing_keys, "SIGNATURES_KEPT", 3)
    keys = KeySet.generate()
    tokens = [mint_access_token(keys, "astana", IIN, dt.timedelta(minutes=10)) for _ in range(10)]
    assert len(keys._signed) == 3  # the bound is the point
    for token in tokens:  # the seven forgotten ones pass the full check again
        assert verify_access_token(keys, token, "astana").applicant_iin == IIN
