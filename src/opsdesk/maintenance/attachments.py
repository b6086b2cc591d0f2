"""The tenant's photos and videos as a page shows them: each through a short-lived signed
link, with who sent it and when. Links are made when the page is, never stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.files.refs import FileKind
from opsdesk.files.store import BlobStore
from opsdesk.maintenance.state import RequestState


@dataclass(frozen=True)
class ShownFile:
    """One photo or video on a page."""

    url: str
    name: str
    kind: FileKind
    content_type: str
    sent: str
    """Who sent it, with what, when: ``Sam Lee with the report, 3 May 10:04``."""


def shown_files(
    state: RequestState, store: BlobStore, lifetime: timedelta, when: Callable[[datetime], str]
) -> list[ShownFile]:
    """The request's photos and videos, oldest first, linked for ``lifetime``; ``when``
    writes a moment in the reader's time."""
    shown = []
    for sent in state.photos:
        what = sent.stage.words if sent.stage is not None else "the report"
        shown.append(
            ShownFile(
                url=store.url(sent.file, lifetime),
                name=sent.file.name or sent.file.kind,
                kind=sent.file.kind,
                content_type=sent.file.content_type,
                sent=f"{sent.by} with {what}, {when(sent.at)}",
            )
        )
    return shown
