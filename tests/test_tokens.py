"""Access and admin tokens: signed, scoped, expiring; forgeries rejected."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from admission.access import mint_access_token, verify_access_token
from admission.errors import Forbidden, Unauthenticated
from admission.signing_keys import KeySet, mint_admin_token, verify_admin_token

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
