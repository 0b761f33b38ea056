"""The parent's capability for one transfer: a JWT (aud ``kezek-transfer``, sub = transfer id)."""

from __future__ import annotations

import datetime as dt
import uuid

from admission.errors import Unauthenticated
from admission.signing_keys import ISSUER, KeySet

AUDIENCE = "kezek-transfer"
TTL = dt.timedelta(days=120)  # outlives every stage of a transfer, orders included


def mint_transfer_token(keys: KeySet, transfer_id: uuid.UUID, applicant_iin: str, now: dt.datetime) -> str:
    return keys.sign(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(transfer_id),
            "applicant": applicant_iin,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + TTL,
        }
    )


def verify_transfer_token(keys: KeySet, token: str, transfer_id: uuid.UUID) -> None:
    """Unauthenticated unless ``token`` is a valid token for ``transfer_id``."""
    claims = keys.verify(token, AUDIENCE)
    if claims.get("sub") != str(transfer_id):
        raise Unauthenticated("this token is for another transfer")
