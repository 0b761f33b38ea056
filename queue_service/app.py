"""The application factory: ``create_app(settings)`` builds a Litestar app.

The module-level ASGI target lives in :mod:`queue_service.asgi`; tests build
their own app with their own settings and keys.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components
from litestar.static_files import create_static_files_router

from admission.portal import PortalIdentity
from admission.signing_keys import KeySet
from queue_service import (
    api_docs,
    background,
    console,
    fast_poll,
    flood,
    headers,
    metrics,
    pages,
    resources,
    rooms_runtime,
    timeouts,
)
from queue_service.auth import SECURITY_SCHEMES, audit_refusal
from queue_service.compression import LazyCompressionMiddleware
from queue_service.controllers import admin, applications, census, monitoring, regions, rooms, system
from queue_service.controllers import prevention as prevention_routes
from queue_service.controllers import transfers as transfer_routes
from queue_service.openapi import declare_problems
from queue_service.pages import apply as apply_pages
from queue_service.pages import rooms as room_pages
from queue_service.problems import EXCEPTION_HANDLERS, refuse_nul
from queue_service.settings import Settings

VERSION = "0.1.0"


def static_router() -> Router:
    """The pages' stylesheet and scripts, the console's script, the ALTCHA widget (``queue_service/static``)."""
    return create_static_files_router(
        path="/static", directories=[Path(__file__).parent / "static"], include_in_schema=False
    )


def route_handlers() -> Sequence[Any]:
    """Every controller and handler of the app; each feature adds its own here."""
    return [
        system.health,
        system.ready,
        system.jwks,
        regions.list_regions,
        regions.get_region,
        rooms.RoomsController,
        rooms.AdminRoomsController,
        room_pages.waiting_page,
        apply_pages.apply_page,
        pages.page_script,
        census.CensusController,
        metrics.metrics,
        api_docs.assets_router(),
        static_router(),
        applications.file_application,
        applications.get_application,
        applications.withdraw_application,
        applications.region_schools,
        admin.AdminController,
        monitoring.MonitoringController,
        *transfer_routes.ROUTES,
        *prevention_routes.ROUTES,
        flood.new_challenge,
    ]


def create_app(settings: Settings, *, keys: KeySet | None = None, debug: bool = False) -> Litestar:
    keyset = keys or KeySet.load_or_create(settings.signing_key_file)
    portal = PortalIdentity.from_settings(settings.portal_auth, settings.portal_public_key_file)
    app = Litestar(
        route_handlers=[*route_handlers(), console.console_router(settings, keyset)],
        state=State({"settings": settings, "keyset": keyset, "portal": portal, "door": flood.Door(settings, keyset)}),
        lifespan=[
            resources.redis_lifespan(settings),
            resources.postgres_lifespan(settings),
            rooms_runtime.rooms_lifespan(settings),
            console.history_lifespan(),
            background.outbox_lifespan(settings),
            metrics.metrics_lifespan(),
        ],
        dependencies={
            "redis": Provide(resources.provide_redis, sync_to_thread=False),
            "db": Provide(resources.provide_db, sync_to_thread=False),
            "keyset": Provide(resources.provide_keys, sync_to_thread=False),
            "settings": Provide(resources.provide_settings, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=refuse_nul,
        response_headers=headers.EVERY_RESPONSE,
        before_send=[headers.baseline],
        after_exception=[audit_refusal],
        middleware=[
            timeouts.body_timeout(settings.body_timeout_seconds, settings.max_body_bytes),
            metrics.RequestMetrics,
        ],
        openapi_config=OpenAPIConfig(
            title="Kezek",
            version=VERSION,
            description="Admission queue for Kazakhstan's electronic 1st-grade enrolment.",
            path="/docs",
            openapi_router=Router("/docs", route_handlers=[], include_in_schema=False, response_headers=headers.DOCS),
            components=Components(security_schemes=dict(SECURITY_SCHEMES)),
            render_plugins=[api_docs.render_plugin()],
        ),
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=2048, middleware_class=LazyCompressionMiddleware
        ),
        logging_config=LoggingConfig(
            root={"level": logging.getLevelName(settings.log_level.upper()), "handlers": ["queue_listener"]},
            log_exceptions="debug",
        ),
        request_max_body_size=settings.max_body_bytes,
        template_config=console.template_config(),
        debug=debug,
    )
    declare_problems(app, rate_limited=frozenset({"join"}))  # join: queue_full, and the join rate limit
    return fast_poll.install(app)
