"""The egov portal as tests play it: its own key pair, and the assertions it signs for a parent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from queue_service.settings import Settings


class Portal:
    """Writes its public key to ``folder``; ``settings(base)`` runs Kezek in ``assertion`` mode against it."""

    def __init__(self, folder: Path) -> None:
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.public_file = folder / "portal-public.pem"
        self.public_file.write_bytes(
            self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def settings(self, base: Settings) -> Settings:
        return msgspec.structs.replace(base, portal_auth="assertion", portal_public_key_file=str(self.public_file))

    def assertion(self, applicant: str, children: Iterable[str] = (), **claims: Any) -> str:
        payload = {
            "sub": applicant,
            "aud": "kezek",
            "exp": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
            "children": list(children),
            **claims,
        }
        return jwt.encode(payload, self.key, algorithm="EdDSA")

    def headers(self, applicant: str, children: Iterable[str] = (), **claims: Any) -> dict[str, str]:
        return {"X-Portal-Assertion": self.assertion(applicant, children, **claims)}
