"""The API for who may use Ops Desk: your own identity, and for admins the users and the API
tokens (the same stores ``opsdesk users`` and ``opsdesk tokens`` change)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from opsdesk.access.roles import NAME_PATTERN, Role
from opsdesk.access.tokens import TokenInfo
from opsdesk.access.users import AccountError
from opsdesk.security_events import record
from opsdesk.web.auth import Admin, Viewer, credentials_of
from opsdesk.web.errors import ApiError

router = APIRouter(prefix="/api", tags=["access"])

TokenName = Annotated[str, Field(pattern=NAME_PATTERN.pattern)]


class IdentityOut(BaseModel):
    name: str
    role: Role
    kind: str


class UserOut(BaseModel):
    name: str
    role: Role
    has_password: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class TokenOut(BaseModel):
    name: str
    role: Role
    hint: str
    """The token's first characters."""
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(BaseModel):
    name: TokenName
    role: Role


class CreatedToken(TokenOut):
    token: str
    """The secret, shown this once: send it as ``Authorization: Bearer <token>``."""


def _token_out(info: TokenInfo) -> TokenOut:
    return TokenOut(**info.__dict__)


@router.get("/me")
async def me(who: Viewer) -> IdentityOut:
    """Who this request acts as (what the timeline records) and its role."""
    return IdentityOut(name=who.name, role=who.role, kind=who.kind)


@router.get("/users")
async def list_users(request: Request, _: Admin) -> list[UserOut]:
    users = await credentials_of(request).users.list()
    return [UserOut(**user.__dict__) for user in users]


@router.get("/tokens")
async def list_tokens(request: Request, _: Admin) -> list[TokenOut]:
    return [_token_out(info) for info in await credentials_of(request).tokens.list()]


@router.post("/tokens", status_code=201)
async def create_token(request: Request, body: NewToken, who: Admin) -> CreatedToken:
    """A new API token; its secret is in this answer only."""
    try:
        info, secret = await credentials_of(request).tokens.create(body.name, body.role)
    except AccountError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    record(
        "token_created",
        "success",
        actor=who.name,
        target=info.name,
        request=request,
        role=info.role,
    )
    return CreatedToken(**info.__dict__, token=secret)


@router.delete("/tokens/{name}")
async def revoke_token(
    request: Request, name: Annotated[str, Path(max_length=64)], who: Admin
) -> TokenOut:
    """Revoke the token: it is refused from now on, and stays listed as revoked."""
    credentials = credentials_of(request)
    try:
        info = await credentials.tokens.revoke(name)
    except AccountError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    credentials.forget()
    record("token_revoked", "success", actor=who.name, target=info.name, request=request)
    return _token_out(info)
