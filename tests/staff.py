"""Who the tests act as: an API token for HTTP clients, a user with a password for browsers.

Both are named ``ops`` (the actor the timeline records) and are admins unless a test asks
for another role."""

from __future__ import annotations

from fastapi import FastAPI

from opsdesk.access.roles import Role
from opsdesk.access.tokens import ApiTokens
from opsdesk.access.users import AccountError, Users
from opsdesk.db import Database

NAME = "ops"
PASSWORD = "correct horse battery staple"


async def token_for(db: Database, role: Role = Role.ADMIN, name: str = NAME) -> str:
    """A new API token's secret; ``name`` (or ``name-2``, … when taken) is its identity."""
    tokens = ApiTokens(db)
    for n in range(1, 100):
        try:
            _, secret = await tokens.create(name if n == 1 else f"{name}-{n}", role)
        except AccountError:
            continue
        return secret
    raise AssertionError("no free token name")


async def bearer(app: FastAPI, role: Role = Role.ADMIN) -> dict[str, str]:
    """Headers that authenticate as a new token in the app's own database (once its lifespan
    has started)."""
    return {"Authorization": f"Bearer {await token_for(app.state.db, role)}"}


async def person(db: Database, name: str = NAME, role: Role = Role.ADMIN) -> str:
    """A user who signs in with ``PASSWORD`` (made if missing); returns the name."""
    users = Users(db)
    if await users.get(name) is None:
        await users.add(name, role, PASSWORD)
    return name
