"""ASGI target for the server's factory mode: ``granian --factory queue_service.asgi:create``."""

from __future__ import annotations

from litestar import Litestar

from queue_service.app import create_app
from queue_service.settings import Settings


def create() -> Litestar:
    return create_app(Settings.from_env())
