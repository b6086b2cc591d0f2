"""Every route declares who may use it (``opsdesk.web.auth``); the roles hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from opsdesk.app import create_app
from opsdesk.settings import Settings

# FastAPI's own pages (the OpenAPI schema and its two viewers) and the static files: public
# documentation and assets, mounted by the framework rather than declared by a route of ours.
FRAMEWORK = {
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/docs/assets",
    "/redoc",
    "/static",
}


def _levels(dependant: Dependant) -> Iterator[str]:
    for dependency in dependant.dependencies:
        level = getattr(dependency.call, "access", None)
        if isinstance(level, str):
            yield level
        yield from _levels(dependency)


def route_levels(tmp_path: Path) -> dict[str, set[str]]:
    """``"GET /path"`` → the access levels its dependencies declare."""
    app = create_app(Settings(data_dir=tmp_path))
    table: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        methods = sorted(route.methods or {"*"})
        for method in methods:
            key = f"{method} {route.path}"
            table[key] = set(_levels(dependant)) if dependant is not None else set()
    return table


def test_every_route_declares_its_access(tmp_path: Path) -> None:
    table = route_levels(tmp_path)
    undeclared = sorted(
        key for key, levels in table.items() if not levels and key.split(" ")[1] not in FRAMEWORK
    )
    assert undeclared == [], f"routes that declare no access level: {undeclared}"
    assert len(table) > 60  # the walk reached the routers' routes, not just the app's own


# Changes a viewer may make: to their own password, second factor, time zone and saved
# views, and asking the codec to decode (a read, over POST because of its protocol).
VIEWER_CHANGES = {
    "POST /account/password",
    "POST /account/second-factor/confirm",
    "POST /account/second-factor/off",
    "POST /account/second-factor/start",
    "POST /account/time-zone",
    "POST /codec/decode",
    "POST /codec/encode",
    # A person's own saved views of a list change nothing of the desk's.
    "POST /views/{desk}",
    "POST /views/{desk}/{view_id}/delete",
}


def test_every_change_behind_sign_in_needs_an_operator(tmp_path: Path) -> None:
    table = route_levels(tmp_path)
    loose = sorted(
        key
        for key, levels in table.items()
        if key.split(" ")[0] in {"POST", "PUT", "PATCH", "DELETE"}
        and "public" not in levels
        and not levels & {"operator", "admin"}
        and key not in VIEWER_CHANGES
    )
    assert loose == []


def test_the_public_routes_are_the_ones_meant_to_be(tmp_path: Path) -> None:
    public = sorted(key for key, levels in route_levels(tmp_path).items() if levels == {"public"})
    assert public == [
        "* /phone/relay/{token}",
        "GET /dev/pms/requests",
        "GET /favicon.ico",
        "GET /files/{token}",
        "GET /follow/{token}",
        "GET /healthz",
        "GET /links/{token}",
        "GET /readyz",
        "GET /report",
        "GET /report/received/{request_id}",
        "GET /signin",
        "GET /signin/code",
        "GET /signin/link/{secret}",
        "GET /signin/oidc",
        "GET /signin/oidc/callback",
        "GET /survey/{token}",
        "OPTIONS /codec/decode",
        "OPTIONS /codec/encode",
        "POST /api/webhooks/orders",
        "POST /dev/pms/requests",
        "POST /links/{token}",
        "POST /phone/calls/{token}",
        "POST /phone/calls/{token}/gather",
        "POST /phone/calls/{token}/relay-ended",
        "POST /phone/calls/{token}/status",
        "POST /report",
        "POST /signin",
        "POST /signin/code",
        "POST /signin/link/{secret}",
        "POST /signout",
        "POST /survey/{token}",
    ]
