"""The API's reference pages, ``/docs`` (Swagger UI) and ``/redoc``, with their scripts and
styles served from here rather than from a CDN: they work on a machine without internet.

The files come from the ``fastapi-offline`` package, which ships the Swagger UI and ReDoc
bundles FastAPI's own pages load from the CDN (Swagger UI 5, ReDoc 2).

``/docs`` is served under the app's Content-Security-Policy (``script-src 'self'``, no
inline script): FastAPI's page starts Swagger UI with an inline script, which that policy
blocks, so ours starts it from ``/static/swagger-init.js``, reading the schema's address
from the page.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
FAVICON_URL = "/static/favicon.svg"
INIT_URL = "/static/swagger-init.js"


def swagger_ui_html(root: str, openapi_url: str, redirect_url: str, title: str) -> str:
    """Swagger UI's page with no inline script: the bundle, then our script that starts it."""
    at = escape(root)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<link rel="icon" href="{at}{FAVICON_URL}">
<link rel="stylesheet" href="{at}{ASSETS_URL}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(root + openapi_url)}"
  data-oauth2-redirect-url="{escape(root + redirect_url)}"></div>
<script src="{at}{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="{at}{INIT_URL}"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve ``/docs``, its OAuth2 redirect and ``/redoc`` with local assets; ``app`` was
    made with ``docs_url=None`` and ``redoc_url=None``."""
    title = app.title
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(swagger_ui_html(root, openapi_url, redirect_url, f"{title} API"))

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} API",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{FAVICON_URL}",
            with_google_fonts=False,
        )

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
