"""The written emergency criteria: what counts as a maintenance emergency, each criterion in
plain words with the phrases that reveal it in several languages, the trade it needs and
whether the tenant must call the emergency services first.

They are read from a TOML file shipped with the desk (``emergency_criteria.toml``, which
explains its own format) or from a replacement named by ``OPSDESK_EMERGENCY_CRITERIA``.
Reading a description against them is deterministic and explainable: the same words always
meet the same criterion, and the match names the criterion and the words that met it.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
)

from opsdesk.ai.models import EmergencyMatch, Trade

DEFAULT_FILE = "emergency_criteria.toml"
GAP = "..."
"""In a phrase: up to ``GAP_WORDS`` words in between."""
GAP_WORDS = 5
NEGATION_REACH = 2
"""How many words before a phrase a negator turns it round from."""

Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


class PolicyFileError(ValueError):
    """An emergency criteria file that cannot be used; the message says why, in a sentence."""


class Criterion(BaseModel):
    """One written criterion of an emergency."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    words: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
    """The criterion as a person reads it."""
    trade: Trade
    phrases: Annotated[list[Phrase], Field(min_length=1)]
    unless: list[Phrase] = []
    """Phrases that, anywhere in the description, make the criterion's phrases not count
    ("the other toilet works")."""
    call_first: bool = False
    """The tenant is told to call the emergency number first and leave."""
    colder_than_f: float | None = None
    """Counts only when no temperature is given or one below this is (°F)."""
    hotter_than_f: float | None = None
    """Counts only when no temperature is given or one above this is (°F)."""
    enabled: bool = True


class EmergencyPolicy(BaseModel):
    """The whole file: the criteria, and the words that read them."""

    model_config = ConfigDict(extra="forbid")

    emergency_number: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{2,15}$")] = "911"
    bare_degrees: Literal["F", "C"] = "F"
    negators: list[str] = []
    resolved: list[Phrase] = []
    urgent: list[Phrase] = []
    criterion: Annotated[list[Criterion], Field(min_length=1)]
    _reader: _Reader = PrivateAttr()

    def model_post_init(self, __context: object) -> None:
        ids = [c.id for c in self.criterion]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"the criterion id {twice[0]} is used twice")
        self._reader = _Reader(self)

    @property
    def criteria(self) -> list[Criterion]:
        """The criteria in force (those switched off left out), in the file's order."""
        return [c for c in self.criterion if c.enabled]

    def match(self, description: str) -> EmergencyMatch | None:
        """The first criterion in force that the description meets, or None."""
        return self._reader.match(description)

    def urgent_sign(self, description: str) -> str | None:
        """The words that make a request urgent when it is no emergency, or None: an urgent
        sign, or a criterion's phrase when the criterion does not count (switched off, or
        the temperature given does not meet its limit)."""
        return self._reader.urgent_sign(fold(description))

    def call_first(self, criterion_id: str) -> str:
        """The number to call first for the criterion, or "" when it asks for none."""
        found = next((c for c in self.criteria if c.id == criterion_id), None)
        return self.emergency_number if found is not None and found.call_first else ""

    def written(self) -> str:
        """The criteria as a model's instructions carry them."""
        lines = []
        for c in self.criteria:
            first = (
                f" (the tenant must call {self.emergency_number} first and leave)"
                if c.call_first
                else ""
            )
            lines.append(f"- {c.words}{first}")
        return "\n".join(lines)


# -- reading a description ---------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case, accents dropped, one kind of apostrophe ("¿Sí?" reads as "¿si?"):
    what phrases are matched on."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00ba", "\u00b0")
    folded = unicodedata.normalize("NFKD", text.lower().replace("\u00df", "ss"))
    return "".join(c for c in folded if not unicodedata.combining(c))


def _compile(phrase: str) -> re.Pattern[str]:
    parts: list[str] = []
    for token in fold(phrase).split():
        if token == GAP:
            parts.append(rf"(?:\W+[\w']+){{0,{GAP_WORDS}}}")
            continue
        stem = token.endswith("*")
        word = re.escape(token.rstrip("*")).replace("'", "'?")
        parts.append(word + (r"[\w']*" if stem else ""))
    body = ""
    for i, part in enumerate(parts):
        gap = part.startswith("(?:")
        body += part if i == 0 or gap else r"\W+" + part
    return re.compile(rf"(?<![\w']){body}(?![\w])")


# Where a sentence ends, for whether a problem is said to be over.
_CLAUSE_END = re.compile(
    r"[.!?;,\n]|\b(?:but|however|now|pero|ahora|mais|maintenant|aber|jetzt|agora)\b"
)
_WORDS = re.compile(r"[\w']+")
_ALTERNATIVES = frozenset({"or", "nor", "ni", "o", "ou", "oder", "noch"})
_TEMPERATURE = re.compile(
    r"(-?\d{1,3}(?:[.,]\d)?)\s*(?:"
    r"°\s*(f|c)?(?![a-z])|degrees?\s*(f|c|fahrenheit|celsius)?(?![a-z])|deg\b|"
    r"(grados|degres|grad|graus)(?![a-z])|(f|c)(?![a-z\d]))"
)


@dataclass(frozen=True)
class _Phrase:
    text: str
    pattern: re.Pattern[str]


def _phrases(phrases: list[str]) -> list[_Phrase]:
    return [_Phrase(p, _compile(p)) for p in phrases]


class _Reader:
    """The policy's phrases compiled once, and the reading of a description against them."""

    def __init__(self, policy: EmergencyPolicy) -> None:
        self.policy = policy
        self.negators = {fold(n) for n in policy.negators}
        self.resolved = _phrases(policy.resolved)
        self.urgent = _phrases(policy.urgent)
        self.criteria = [(c, _phrases(c.phrases), _phrases(c.unless)) for c in policy.criterion]

    def match(self, description: str) -> EmergencyMatch | None:
        text = fold(description)
        for criterion, phrases, unless in self.criteria:
            if not criterion.enabled or any(u.pattern.search(text) for u in unless):
                continue
            heard = self.first(phrases, text)
            if heard is None or not self._warm_enough(criterion, text):
                continue
            number = self.policy.emergency_number if criterion.call_first else ""
            return EmergencyMatch(
                criterion=criterion.id, words=criterion.words, heard=heard, call_first=number
            )
        return None

    def urgent_sign(self, text: str) -> str | None:
        found = self.first(self.urgent, text)
        for _, phrases, unless in self.criteria:
            if found is not None:
                break
            if not any(u.pattern.search(text) for u in unless):
                found = self.first(phrases, text)
        return found

    def first(self, phrases: list[_Phrase], text: str) -> str | None:
        """The first words in ``text`` that one of ``phrases`` finds and nothing turns round."""
        for phrase in phrases:
            for found in phrase.pattern.finditer(text):
                if not self._turned_round(text, found.start(), found.end()):
                    return found.group(0)
        return None

    def _turned_round(self, text: str, start: int, end: int) -> bool:
        begins = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
        ends = next((m.start() for m in _CLAUSE_END.finditer(text, end)), len(text))
        before = _WORDS.findall(text[begins:start])
        reach = NEGATION_REACH
        if before and before[-1] in _ALTERNATIVES:
            # "no smoke or sparks": the negator before the list's first item.
            reach += 2
        if any(word in self.negators for word in before[-reach:]):
            return True
        clause = text[begins:ends]
        return any(r.pattern.search(clause) for r in self.resolved)

    def _warm_enough(self, criterion: Criterion, text: str) -> bool:
        """Whether the temperatures the tenant gives (if any) meet the criterion's."""
        if criterion.colder_than_f is None and criterion.hotter_than_f is None:
            return True
        degrees = self._temperatures_f(text)
        if not degrees:
            # No temperature given: the safer reading, that it is cold (or hot) enough.
            return True
        if criterion.colder_than_f is not None:
            return min(degrees) < criterion.colder_than_f
        assert criterion.hotter_than_f is not None
        return max(degrees) > criterion.hotter_than_f

    def _temperatures_f(self, text: str) -> list[float]:
        found = []
        for m in _TEMPERATURE.finditer(text):
            value = float(m.group(1).replace(",", "."))
            unit = (m.group(2) or m.group(3) or m.group(5) or "")[:1]
            if m.group(4):
                unit = "c"
            unit = unit or self.policy.bare_degrees.lower()
            found.append(value * 9 / 5 + 32 if unit == "c" else value)
        return found


# -- the file --------------------------------------------------------------------------------


@cache
def default_policy() -> EmergencyPolicy:
    """The criteria shipped with the desk."""
    text = resources.files("opsdesk.ai").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")
    return _parse(tomllib.loads(text), DEFAULT_FILE)


def load_policy(path: Path | None = None) -> EmergencyPolicy:
    """The criteria in ``path``, or the shipped ones; ``PolicyFileError`` says what is wrong."""
    if path is None:
        return default_policy()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PolicyFileError(
            f"the emergency criteria file {path} cannot be read: {reason}"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(
            f"the emergency criteria file {path} is not valid TOML: {exc}"
        ) from None
    return _parse(data, str(path))


def _parse(data: dict[str, object], name: str) -> EmergencyPolicy:
    try:
        return EmergencyPolicy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = _where(error["loc"], data)
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise PolicyFileError(
            f"the emergency criteria file {name} is not usable: {'; '.join(problems)}"
        ) from None
    except ValueError as exc:
        raise PolicyFileError(f"the emergency criteria file {name} is not usable: {exc}") from None


def _where(loc: tuple[int | str, ...], data: dict[str, object]) -> str:
    """An error's place in the file as its author finds it: ``criterion 2 (sewage), unless``."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]} {part + 1}"
            listed = data.get(str(loc[0])) if i == 1 else None
            if isinstance(listed, list) and part < len(listed) and isinstance(listed[part], dict):
                named = listed[part].get("id")
                if isinstance(named, str):
                    parts[-1] += f" ({named})"
        else:
            parts.append(str(part))
    return ", ".join(parts)
