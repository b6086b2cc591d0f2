"""The drill's HTTP client: requests spread over the API replicas in turn, as a load
balancer spreads them, and a request that fails is sent again to the next replica with the
same ``Idempotency-Key``, as a careful client does. The tally says how many failed and
whether their retries recovered them."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

ATTEMPTS = 12
"""Tries per request; with ``BACKOFF`` between them they span about a minute, longer than a
replica or the Temporal server takes to come back."""
BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
TIMEOUT = 30.0
"""Seconds one try may take: a replica that answers nothing for this long has failed it."""


@dataclass
class Tally:
    """What happened to the requests the drill sent."""

    sent: int = 0
    """Requests (each counted once, however many tries it took)."""
    failed: int = 0
    """Requests whose first try failed: no connection, a dropped one, a timeout, a 5xx."""
    recovered: int = 0
    """Failed requests that a retry with the same key carried out (a 2xx; for a read, a
    404 too: the item is not there yet)."""
    refused: list[str] = field(default_factory=list)
    """Failed requests whose retry was answered with a refusal: a same-key retry of a change
    that had landed must answer as the first try would have."""
    unrecovered: list[str] = field(default_factory=list)
    """Failed requests that no retry answered, with their last failure."""
    causes: Counter[str] = field(default_factory=Counter)
    """Every failed try, by what went wrong."""


def _cause(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return "connection dropped"


class Replicas:
    """An ``Http`` for ``ApiTarget`` (and the drill's maintenance driver) over several API
    replicas."""

    def __init__(self, urls: list[str], token: str, tally: Tally) -> None:
        self.tally = tally
        self._clients = [
            httpx.AsyncClient(
                base_url=url, timeout=TIMEOUT, headers={"Authorization": f"Bearer {token}"}
            )
            for url in urls
        ]
        self._turn = itertools.cycle(range(len(urls)))

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    async def request(self, method: str, url: str, *, json: object = None) -> httpx.Response:
        """The first answer that is not a server failure. A change (POST) carries one key on
        every try, so a try that reached a replica before it died is not acted on twice."""
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method != "GET" else {}
        first = next(self._turn)
        self.tally.sent += 1
        failure = ""
        for attempt in range(ATTEMPTS):
            client = self._clients[(first + attempt) % len(self._clients)]
            try:
                response = await client.request(method, url, json=json, headers=headers)
            except httpx.TransportError as exc:
                failure = _cause(exc)
            else:
                if response.status_code < 500:
                    if attempt and (
                        response.is_success or (method == "GET" and response.status_code == 404)
                    ):
                        self.tally.recovered += 1
                    elif attempt:
                        self.tally.refused.append(
                            f"{method} {url}: {response.status_code} {_message(response)}"
                        )
                    return response
                failure = f"{response.status_code} {_message(response)}"
            if not attempt:
                self.tally.failed += 1
            self.tally.causes[failure] += 1
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
        self.tally.unrecovered.append(f"{method} {url}: {failure}")
        raise httpx.NetworkError(f"{method} {url} failed {ATTEMPTS} times; last: {failure}")


def _message(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = None
    return str(message or response.reason_phrase)
