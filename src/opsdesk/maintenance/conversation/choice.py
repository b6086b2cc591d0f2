"""Whether an owner's call is a conversation, and what a conversation hands back to the
call when it ends (Twilio passes it to ``<Connect action>`` as ``HandoffData``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from opsdesk.maintenance.conversation.languages import DEFAULT_LANGUAGE, language_tag
from opsdesk.settings import Settings


def conversation_on(settings: Settings) -> bool:
    """``phone_conversation``: on, off, or (auto) when Twilio places the call and a model
    speaks for the desk. A laptop's dev phone keeps the keypad call under ``auto``, key or
    not; ``on`` makes it a conversation there too."""
    if settings.phone_conversation == "auto":
        return settings.twilio_configured and settings.resolved_ai_provider != "rules"
    return settings.phone_conversation == "on"


@dataclass(frozen=True)
class Handoff:
    """How a conversation ended, for the call's next TwiML."""

    goodbye: str = ""
    """The last words (said by the TwiML, so the caller hears them whole)."""
    recorded: bool = False
    fallback: bool = False
    """The conversation failed: the call asks the question with the keypad instead."""
    language: str = DEFAULT_LANGUAGE
    """The language the conversation ended in: its last words are said in it."""

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def read(cls, data: str) -> Handoff | None:
        """Ours, as ``dumps`` wrote it (Twilio signs it back); None for anything else."""
        try:
            found = json.loads(data) if data else None
        except ValueError:
            return None
        if not isinstance(found, dict):
            return None
        return cls(
            goodbye=str(found.get("goodbye", ""))[:500],
            recorded=found.get("recorded") is True,
            fallback=found.get("fallback") is True,
            language=_tag(found.get("language")),
        )


def _tag(value: object) -> str:
    try:
        return language_tag(value) if isinstance(value, str) else DEFAULT_LANGUAGE
    except ValueError:
        return DEFAULT_LANGUAGE
