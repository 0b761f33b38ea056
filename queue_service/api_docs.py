"""The API docs, served without the internet: Swagger UI from the ``swagger-ui-bundle-v2`` package.

Litestar's render plugins load their scripts from a CDN by default, which leaves
``/docs`` blank on a machine without internet (a ministry's closed network).
Here the scripts, styles and icon are the package's files, served by this app
under ``/docs/assets``; ``/docs`` and ``/docs/swagger`` are the same Swagger UI.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from litestar import Router
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS = "/docs/assets"


def render_plugin() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        path=["/", "/swagger"],
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
    )


def assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS, directories=[Path(swagger_ui_bundle.swagger_ui_path)], include_in_schema=False
    )
