"""Where a dashboard form sends the browser next: back to the page it was posted from,
with one line of notice, and links to the pages of a list. Both desks' dashboards use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse

BACK_LIMIT = 25
"""How many earlier pages' tokens a list's address carries for "Previous"."""
NOTICE_COOKIE = "opsdesk_notice"


@dataclass(frozen=True)
class Notice:
    """One line at the top of the next page: what a form did, or why it did not."""

    kind: Literal["ok", "error"]
    text: str


def read_notice(request: Request) -> Notice | None:
    raw = unquote(request.cookies.get(NOTICE_COOKIE, ""))
    kind, _, text = raw.partition(":")
    if kind in ("ok", "error") and text:
        return Notice(kind="ok" if kind == "ok" else "error", text=text)
    return None


def back_to(request: Request, fallback: str, notice: Notice) -> RedirectResponse:
    """303 to the page the form was on (or ``fallback``), carrying ``notice`` to it."""
    return redirect_with(page_posted_from(request) or fallback, notice)


def redirect_with(url: str, notice: Notice) -> RedirectResponse:
    # The notice rides in a short-lived cookie rather than the address, so that a link can
    # never make the dashboard show words it did not say.
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        NOTICE_COOKIE,
        quote(f"{notice.kind}:{notice.text}"),
        max_age=60,
        path="/",
        httponly=True,
        samesite="lax",
    )
    return response


def local_path(value: str | None) -> str | None:
    """``value`` if it is a path on this site a page may send the browser back to (a form's
    ``back`` field), else None: never another site, an API route or a fragment."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if value.startswith(("/api/", "/fragments/")):
        return None
    return value


def page_posted_from(request: Request) -> str | None:
    referer = request.headers.get("referer")
    if not referer:
        return None
    url = urlsplit(referer)
    if url.netloc != request.url.netloc or not url.path.startswith("/"):
        return None
    if url.path.startswith(("/api/", "/fragments/")):
        return None
    return url.path + (f"?{url.query}" if url.query else "")


@dataclass(frozen=True)
class Pager:
    first: str | None
    previous: str | None
    next: str | None


def pager(
    path: str, query: dict[str, Any], token: str | None, back: list[str], next_token: str | None
) -> Pager:
    """Links to the first, previous and next pages of the list at ``path``.

    Visibility hands out only a token for the next page, so the way back is carried along:
    ``back`` holds the token of each earlier page (``""`` for the first), oldest first.
    """
    base = sorted((k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items())

    def link(page_token: str | None, trail: list[str]) -> str:
        params = base + ([("page_token", page_token)] if page_token else [])
        params += [("back", t) for t in trail]
        return f"{path}?" + urlencode(params) if params else path

    previous = link(back[-1], back[:-1]) if back else None
    # "First page" only where "Previous" does not already lead there.
    first = link(None, []) if token and (len(back) != 1 or back[0]) else None
    following = None
    if next_token:
        trail = [*back, token or ""][-BACK_LIMIT:]
        following = link(next_token, trail)
    return Pager(first=first, previous=previous, next=following)
