"""An OpenID Connect provider on loopback, for the sign-in tests: discovery, an authorize
endpoint that signs in whoever the test says at once, a token endpoint that issues an RS256
ID token, and the keys to check it. Authlib talks to it exactly as to a real provider."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse
from jwt.algorithms import RSAAlgorithm

from tests.http import served

CLIENT_ID = "opsdesk"
CLIENT_SECRET = "provider-shared-secret"


@dataclass
class FakeProvider:
    """``claims`` are what the next person to sign in is said to be."""

    url: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)


def _app(fake: FakeProvider) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": fake.url,
            "authorization_endpoint": f"{fake.url}/authorize",
            "token_endpoint": f"{fake.url}/token",
            "jwks_uri": f"{fake.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(fake.key.public_key()))
        return {"keys": [public | {"kid": "k1", "use": "sig", "alg": "RS256"}]}

    @app.get("/authorize")
    async def authorize(request: Request) -> RedirectResponse:
        params = request.query_params
        if params.get("client_id") != CLIENT_ID:
            raise HTTPException(400, "unknown client")
        code = secrets.token_urlsafe(16)
        fake.codes[code] = {"nonce": params.get("nonce"), **fake.claims}
        target = f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params['state']})}"
        return RedirectResponse(target, status_code=302)

    @app.post("/token")
    async def token(request: Request) -> dict[str, Any]:
        form = dict(parse_qsl((await request.body()).decode()))
        # Authlib sends the client's credentials as HTTP Basic by default.
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            raise HTTPException(401, "client authentication failed")
        code = form.get("code", "")
        claims = fake.codes.pop(code, None)
        if claims is None:
            raise HTTPException(400, "invalid_grant")
        now = int(time.time())
        id_token = jwt.encode(
            {"iss": fake.url, "aud": CLIENT_ID, "iat": now, "exp": now + 300, **claims},
            fake.key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        return {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    return app


@asynccontextmanager
async def fake_provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider()
    async with served(_app(fake)) as url:
        fake.url = url
        yield fake
