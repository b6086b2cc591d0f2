"""The call as a conversation: the owner's turns in, the desk's turns out, and at most one
answer recorded.

A brain (a model, or the offline rules) speaks for the desk and asks for an answer to be
recorded through one structured call, ``record_answer``. The engine, not the brain,
decides whether that call counts:

- the decision must be one the question allows (approve or decline), and an approval
  must name the amount on file, so no conversation can approve another amount;
- ``record_answer`` never records: the engine reads the decision back in its own words
  ("So you approve the invoice of 412 dollars ... Shall I record that?");
- whether the owner confirmed is the engine's to hear, never the brain's: only an owner's
  very next turn that is itself a plain yes (``confirmed``: the spoken-answer rules, in
  the languages they know, and no question in it) records the decision read back, with
  no brain asked. Anything else (a question, a no, a hedge, words the rules cannot read)
  drops the read-back and the brain answers the turn as any other; a decision it asks
  for again is read back again. So a model steered by words in the facts ("call
  record_answer with approve") gets a read-back at most, never an answer;
- a read-back not confirmed at once is forgotten, and so is one cut short before the owner
  heard its question: ConversationRelay tells the app what the caller heard before they
  spoke or pressed over the desk (``interrupt``), so a key meant for the words before a
  read-back never confirms it. A caller who answers over the "say yes or press 1" that
  follows the question heard it, and their answer counts.

Keys work at any moment and need no brain: 1 is yes and 2 is no. With no read-back
pending, 1 or 2 reads back approve or decline; with one pending, 1 confirms it and 2
drops it. 9 says the whole message again. So a key press is read back and confirmed like
words, where today's ``<Gather>`` call records a key at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from opsdesk.ai.emergency import fold
from opsdesk.ai.tasks import rules_spoken_answer
from opsdesk.maintenance.conversation.facts import DECISIONS, CallFacts
from opsdesk.maintenance.conversation.languages import Phrases, asked_language

log = logging.getLogger(__name__)

MAX_SILENCES = 2
"""Silences asked about before the call ends politely."""
NOTE_LIMIT = 1000
"""What an answer's note holds (``inputs.Note``): the transcript's end, if it is longer."""

# A turn that asks something is not a confirmation, whatever yes it holds ("OK, who is the
# plumber?", "yes, but wait", "sí, pero ¿cuánto es?"): a question mark, a wait, or an
# English question word opening a clause. Spanish and French are read by their question
# marks alone: their question words open plain answers too ("sí, cómo no", "sí, cuando
# quiera"). Read on folded words (lower case, no accents).
_ASKS = re.compile(
    r"[?¿]|\b(wait|hold on|hang on|one (second|moment|minute)|just a (second|moment|minute)"
    r"|espere|un momento|un segundo|attendez|un instant|une seconde)\b"
    r"|(^|[,.;:!]|\b(and|but|so|then|ok|okay|yes|yeah|well))\s*"
    r"(who|what|when|where|why|how|which|whose)\b"
)
# Confirming a decline names it: "yes, decline it" is a yes to the read-back, not a muddle.
_DECLINE_WORDS = re.compile(
    r"\b(declined?|decline it|reject(ed)?|refus\w*|recha[zc]\w*|rejet\w*)\b"
)
# ...but an approval said to a decline's read-back is no yes to it: "approve it" must never
# record a decline.
_APPROVE_WORDS = re.compile(r"\b(approv\w*|approuv\w*|aprue\w*|aprob\w*|acept\w*|accept\w*)\b")


def names_approval(heard: str) -> bool:
    """Whether the words name an approval ("approve it", "lo apruebo", "j'approuve")."""
    return _APPROVE_WORDS.search(fold(heard)) is not None


def confirmed(heard: str, approve: bool) -> bool:
    """Whether the owner's words right after a read-back of ``approve`` (True) or decline
    are themselves a plain yes to it: "yes", "yes please", "go ahead", "record it", "sí",
    "oui"... A question, a no, a hedge or anything unclear is not."""
    heard = fold(heard)
    if _ASKS.search(heard):
        return False
    if not approve:
        if names_approval(heard):
            return False
        heard = _DECLINE_WORDS.sub(" ", heard)
    return rules_spoken_answer(heard) == "approve"


@dataclass(frozen=True)
class Line:
    """One turn of the transcript."""

    who: Literal["desk", "owner"]
    text: str


@dataclass(frozen=True)
class Say:
    """Words for the desk to speak, a few at a time."""

    text: str


@dataclass(frozen=True)
class RecordCall:
    """The brain asks for an answer to be recorded (the ``record_answer`` tool call)."""

    decision: str
    amount_cents: int | None = None


Event = Say | RecordCall


class Brain(Protocol):
    """Speaks for the desk: given the facts and the transcript so far (the owner's turn
    last), the desk's words and at most one ``RecordCall``."""

    def reply(
        self, facts: CallFacts, transcript: Sequence[Line], pending: bool | None
    ) -> AsyncIterator[Event]: ...


class BrainFailed(Exception):
    """The brain could not answer (a model that is down): the call goes on without it."""


@dataclass(frozen=True)
class Ending:
    """How the call ends: what the owner hears last, and whether an answer was recorded."""

    goodbye: str
    recorded: bool = False
    fallback: bool = False
    """The conversation failed: the call goes on as today's key-press call."""


Recorder = Callable[[bool, str], Awaitable[Ending]]
"""Records ``approve`` with the call's note (its transcript): how the call ends."""
Switcher = Callable[[str], Awaitable[CallFacts]]
"""Switches the call's speech to a language (a BCP-47 tag): the facts told in it."""


@dataclass
class Conversation:
    """One call's conversation; the relay feeds it the owner's turns and speaks its own."""

    facts: CallFacts
    brain: Brain
    record: Recorder
    other_way: Callable[[Phrases], str] = lambda words: ""
    """How the owner can still answer if the call records nothing, in the call's words
    (the language may change mid-call)."""
    switch: Switcher | None = None
    """How the call changes language when the owner asks for another one; None: it
    cannot."""
    transcript: list[Line] = field(default_factory=list)
    ending: Ending | None = None
    home: str = ""
    """The owner's language on file (the facts' at the start): a switch back returns to
    it, region and all."""
    _pending: bool | None = None
    """The decision read back (True: approve) and awaiting the owner's next turn."""
    _pending_turn: int = -1
    _turns: int = 0
    _silences: int = 0
    recording: bool = False
    """An answer is on its way to the request: the turn sending it must not be stopped."""

    def __post_init__(self) -> None:
        self.home = self.home or self.facts.language

    def opening(self) -> str:
        """Who is calling and why, then the question, and that the owner may ask."""
        script, words = self.facts.script, self.facts.phrases
        text = f"{script.intro} {script.question} {words.invite} {words.keys}"
        self.transcript.append(Line("desk", text))
        return text

    async def hear(self, text: str) -> AsyncIterator[str]:
        """The owner said ``text``: the desk's reply, as it is spoken."""
        self._turns += 1
        self._silences = 0
        self.transcript.append(Line("owner", text))
        pending, self._pending = self._take_pending(), None
        if pending is not None and confirmed(text, pending):
            await self._record(pending)
            return
        wanted = asked_language(text, self.facts.language, self.home)
        if wanted is not None and self.switch is not None:
            # A read-back in the other language is dropped: the question is asked anew.
            self.facts = await self.switch(wanted)
            yield self._words(self.opening_words())
            return
        said: list[str] = []
        try:
            async for event in self.brain.reply(self.facts, self.transcript, pending):
                if isinstance(event, Say):
                    said.append(event.text)
                    yield event.text
                else:
                    async for words in self._asked_to_record(event):
                        said.append(words)
                        yield words
                    break
        except BrainFailed as exc:
            # Expected of a model that is down: the call goes on as the key-press call.
            log.warning("a call's model failed, so it goes on with the keypad: %s", exc)
            self.ending = Ending(self.facts.phrases.trouble, fallback=True)
        finally:
            self._desk("".join(said))

    async def press(self, digit: str) -> AsyncIterator[str]:
        """The owner pressed ``digit``: handled here, whatever the brain is doing."""
        self._turns += 1
        self._silences = 0
        self.transcript.append(Line("owner", f"(pressed {digit})"))
        pending, self._pending = self._take_pending(), None
        if digit == "9":
            words = self._words(self.opening_words())
        elif digit == "1" and pending is not None:
            await self._record(pending)
            return
        elif digit == "2" and pending is not None:
            words = self._words(f"{self.facts.phrases.not_recorded} {self.facts.asked}")
        elif digit in ("1", "2"):
            words = self._words(self._read_back(digit == "1"))
        else:
            words = self._words(f"{self.facts.phrases.no_such_key} {self.facts.phrases.keys}")
        yield words

    async def silence(self) -> AsyncIterator[str]:
        """Nothing heard for a while: ask again, then end politely."""
        self._pending = None
        self._silences += 1
        if self._silences > MAX_SILENCES:
            words = self.facts.phrases
            self.ending = Ending(f"{words.no_answer} {self.other_way(words)}")
            return
        yield self._words(f"{self.facts.phrases.still_there} {self.facts.asked}")

    def interrupted(self, heard: str) -> None:
        """The owner spoke (or pressed a key) over the desk: only ``heard`` reached them. A
        read-back whose question they did not hear cannot be confirmed."""
        pending = self._pending
        if pending is None or _said(self.facts.read_back(pending)) not in _said(heard):
            self._pending = None
        if self.transcript and self.transcript[-1].who == "desk":
            self.transcript[-1] = Line("desk", f"{heard.strip()} (interrupted)")

    def opening_words(self) -> str:
        """The greeting and the question, with the keys."""
        return f"{self.facts.script.intro} {self.facts.asked}"

    def note(self) -> str:
        """The transcript as the answer's note, its end kept when it is too long."""
        # The opening is the call's script, the same for every call: named, not repeated.
        lines = ["Desk: (the call's opening)"] + [
            f"{'Desk' if line.who == 'desk' else 'Owner'}: {line.text.strip()}"
            for line in self.transcript[1:]
            if line.text.strip()
        ]
        text = "Call transcript:\n" + "\n".join(lines)
        if len(text) > NOTE_LIMIT:
            text = "…" + text[-(NOTE_LIMIT - 1) :]
        return text

    # -- inside ------------------------------------------------------------------------------

    def _take_pending(self) -> bool | None:
        # A read-back counts only for the turn right after it.
        return self._pending if self._pending_turn == self._turns - 1 else None

    def _read_back(self, approve: bool) -> str:
        self._pending = approve
        self._pending_turn = self._turns
        return f"{self.facts.read_back(approve)} {self.facts.phrases.confirm_keys}"

    def _words(self, text: str) -> str:
        self._desk(text)
        return text

    def _desk(self, text: str) -> None:
        if text:
            self.transcript.append(Line("desk", text))

    async def _asked_to_record(self, call: RecordCall) -> AsyncIterator[str]:
        if call.decision not in DECISIONS:
            yield f" {self.facts.phrases.only_yes_or_no} {self.facts.asked}"
            return
        approve = call.decision == "approve"
        wanted = self.facts.amount_cents
        if approve and wanted is not None and call.amount_cents != wanted:
            only = self.facts.phrases.only_amount.format(amount=self.facts.amount_words)
            yield f" {only} {self.facts.asked}"
            return
        # Never recorded here: only the owner's own yes to the read-back records.
        yield " " + self._read_back(approve)

    async def _record(self, approve: bool) -> None:
        self.recording = True
        try:
            self.ending = await self.record(approve, self.note())
        finally:
            self.recording = False


def _said(text: str) -> str:
    """Words alone, to compare what was spoken with what was heard of it."""
    return " ".join(re.findall(r"\w+", fold(text)))
