"""The structured tasks: each asks a provider for one tool call, checks the answer against
its pydantic model, and logs what the call cost. Without a provider each task answers from
deterministic rules instead.

An answer that does not fit raises ``AiOutputInvalid``, which the activity's retry policy
retries a bounded number of times; then the caller falls back (the rules scorer and a
person's review for risk, the plain template for an email).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from opsdesk.ai import prompts
from opsdesk.ai.emergency import EmergencyPolicy, default_policy, fold
from opsdesk.ai.models import (
    CATEGORY_OF_TRADE,
    TRADE_OF_CATEGORY,
    AiUsage,
    Category,
    EmailProse,
    EmergencyMatch,
    MaintenanceTriage,
    Priority,
    RiskVerdict,
    SpokenAnswer,
    SpokenAnswerResult,
    SpokenIntent,
    TriageRequest,
    TriageResult,
)
from opsdesk.ai.providers import Picture, Provider, StructuredCall
from opsdesk.ai.usage import UsageLog

T = TypeVar("T", bound=BaseModel)


class AiOutputInvalid(Exception):
    """The model answered, but not with what was asked for. Retried a few times."""


def _schema(model: type[BaseModel]) -> dict[str, object]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


async def ask(
    provider: Provider,
    call: StructuredCall,
    result_type: type[T],
    log: UsageLog,
    reference: str,
    check: Callable[[T], str | None] | None = None,
) -> tuple[T, AiUsage]:
    """One model call: its answer validated, and the call logged however it ended."""
    started = time.perf_counter()
    try:
        reply = await provider.call(call)
    except Exception as exc:
        spent = AiUsage(
            provider=provider.name,
            model=call.model,
            task=call.task,
            latency_ms=round((time.perf_counter() - started) * 1000),
        )
        await log.record(reference, spent, "error", str(exc))
        raise
    problem = reply.problem if reply.data is None else ""
    result = None
    if reply.data is not None:
        try:
            result = result_type.model_validate(reply.data)
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
                for e in exc.errors()
            )
    if result is not None and check is not None:
        problem = check(result) or ""
    if result is None or problem:
        await log.record(reference, reply.usage, "invalid_output", problem)
        raise AiOutputInvalid(f"{provider.name} gave an unusable answer: {problem}")
    await log.record(reference, reply.usage, "ok")
    return result, reply.usage


# -- risk --------------------------------------------------------------------------------------


class RiskTask:
    """Asks the provider's fast model for a fraud verdict on an order's facts (a desk's
    dict of what a reviewer would look at; the desk converts its own order to it)."""

    def __init__(self, provider: Provider, log: UsageLog) -> None:
        self.provider = provider
        self.log = log

    async def assess(self, order: dict[str, object], reference: str) -> tuple[RiskVerdict, AiUsage]:
        call = StructuredCall(
            task="score_order_risk",
            system=prompts.RISK_SYSTEM,
            user="Assess this order.\n\n" + prompts.data_block("order", order),
            tool_name="record_risk_assessment",
            tool_description="Record the fraud risk assessment of the order.",
            schema=_schema(RiskVerdict),
            model=self.provider.fast_model,
            max_tokens=400,
        )
        return await ask(self.provider, call, RiskVerdict, self.log, reference)


# -- customer emails ---------------------------------------------------------------------------

# Facts the template owns: a model must not state amounts, numbers, links or addresses.
_INVENTED = [
    (re.compile(r"\d"), "a number"),
    (re.compile(r"[$€£¥]|\b(USD|EUR|GBP)\b"), "an amount"),
    (re.compile(r"https?://|www\.", re.IGNORECASE), "a link"),
    (re.compile(r"@"), "an address"),
]


def invented_facts(prose: EmailProse) -> str | None:
    for text in (prose.subject, prose.opening, prose.closing):
        for pattern, what in _INVENTED:
            if pattern.search(text):
                return f"the prose states {what}, which only the order's data may supply"
    return None


class ProseTask:
    """Asks the provider's strong model for the personal words of a confirmation: subject,
    opening, closing. Amounts, items and links come from data, in the template."""

    def __init__(self, provider: Provider, log: UsageLog) -> None:
        self.provider = provider
        self.log = log

    async def write(
        self, first_name: str, items: list[str], reference: str
    ) -> tuple[EmailProse, AiUsage]:
        order = {"customer_first_name": first_name, "items": items}
        call = StructuredCall(
            task="write_order_email",
            system=prompts.EMAIL_SYSTEM,
            user="Write the confirmation for this order.\n\n" + prompts.data_block("order", order),
            tool_name="write_email_prose",
            tool_description="Give the subject, opening and closing of the email.",
            schema=_schema(EmailProse),
            model=self.provider.strong_model,
            max_tokens=500,
        )
        return await ask(self.provider, call, EmailProse, self.log, reference, invented_facts)


# -- maintenance triage ------------------------------------------------------------------------

# Which trade a description is about when no emergency criterion names one: the first
# category whose words it has (English, Spanish, French, German, Portuguese).
_CATEGORIES: list[tuple[Category, re.Pattern[str]]] = [
    (
        "appliance",
        re.compile(
            r"\b(fridge|refrigerator|freezer|oven|stove|dishwasher|washer|dryer|microwave|"
            r"nevera|refrigerador|horno|estufa|lavadora|frigo|refrigerateur|four|lave|"
            r"kuhlschrank|herd|ofen|waschmaschine|geladeira|fogao|forno|maquina de lavar)"
        ),
    ),
    (
        "pest",
        re.compile(
            r"\b(mice|mouse|rats?|roach\w*|cockroach\w*|ants|bugs?|bed ?bugs|pests?|termites?|"
            r"cucarach\w*|ratones|chinches|cafards?|souris|punaises|kakerlaken|mause|wanzen|"
            r"baratas|ratos|percevejos)\b"
        ),
    ),
    (
        "locks_security",
        re.compile(
            r"\b(lock\w*|keys?|break-?in|broke in|latch|cerradura|serrure|cle|cambriol\w*|"
            r"schloss|schlussel|einbruch|fechadura|chave|tranca)\b"
        ),
    ),
    (
        "heating_cooling",
        re.compile(
            r"\b(heat\w*|boiler|radiators?|furnace|air ?con\w*|a/?c|cooling|thermostat|"
            r"calefaccion|calentador|chauffage|chaudiere|heizung|aquecimento|aquecedor)\b"
        ),
    ),
    (
        "electrical",
        re.compile(
            r"\b(electric\w*|outlets?|sockets?|wir\w*|breakers?|fuses?|lights?|power|sparks?|"
            r"smoke|detectors?|alarms?|switch|enchufe|luz|detecteur|prise|courant|steckdose|"
            r"strom|rauch\w*|tomada|energia)\b"
        ),
    ),
    (
        "plumbing",
        re.compile(
            r"\b(leak\w*|drip\w*|toilet|sink|drain\w*|pipes?|faucet|tap|shower|water|sewage|"
            r"sewer|tub|agua|fuga|inodoro|grifo|fregadero|lavabo|gotea|eau|fuite|robinet|"
            r"toilettes|tuyau|wasser\w*|rohr\w*|tropft|toilette\w*|leck|spule|abfluss|cano|"
            r"torneira|vazando|vaso|descarga)\b"
        ),
    ),
    (
        "structural",
        re.compile(
            r"\b(crack\w*|ceiling|wall|roof|stairs?|mou?ld|tile|window|door|cabinet|closet|"
            r"screen|weatherstrip\w*|moho|armario|placard|schimmel|porta|puerta|porte)\b"
        ),
    ),
]


def rules_triage(description: str, policy: EmergencyPolicy | None = None) -> MaintenanceTriage:
    """Keyword rules and the written emergency criteria: the offline triage."""
    return read_by_rules(description, policy or default_policy())[0]


def read_by_rules(
    description: str, policy: EmergencyPolicy
) -> tuple[MaintenanceTriage, EmergencyMatch | None]:
    """The rules' triage of a description, and the emergency criterion it met (if any)."""
    text = _plain(description)
    category: Category = next(
        (name for name, pattern in _CATEGORIES if pattern.search(text)), "other"
    )
    met = policy.match(description)
    if met is not None:
        # The criterion names the trade; the words name the category only if they agree.
        trade = next(c.trade for c in policy.criteria if c.id == met.criterion)
        if TRADE_OF_CATEGORY[category] != trade:
            category = CATEGORY_OF_TRADE[trade]
    first_line = description.strip().splitlines()[0] if description.strip() else "Repair request"
    summary = first_line if len(first_line) <= 140 else first_line[:137] + "..."
    priority: Priority = (
        "emergency"
        if met is not None
        else "urgent"
        if policy.urgent_sign(description)
        else "routine"
    )
    triage = MaintenanceTriage(
        category=category,
        priority=priority,
        emergency=met is not None,
        summary=summary if len(summary) >= 3 else "Repair request",
        trade=TRADE_OF_CATEGORY[category],
    )
    return triage, met


PhotoReader = Callable[[str], Awaitable[bytes]]
"""Reads a stored photo's bytes by its blob key (``BlobStore.get``)."""

MAX_TRIAGE_PICTURES = 4
"""Photos shown to the model at most: enough to see the problem, a bounded cost."""


class Triager:
    """Triages a repair request: by the provider's fast model when there is one, always
    under the written emergency criteria, which the rules apply as a floor: a request
    they find an emergency is one whatever the model said."""

    def __init__(
        self,
        provider: Provider | None,
        log: UsageLog,
        policy: EmergencyPolicy | None = None,
        photos: PhotoReader | None = None,
    ) -> None:
        """``photos``: set when the model reads images (``OPSDESK_AI_READS_IMAGES``); the
        tenant's photos are then shown to it."""
        self.provider = provider
        self.log = log
        self.policy = policy or default_policy()
        self.photos = photos

    async def _pictures(self, request: TriageRequest) -> tuple[Picture, ...]:
        if self.photos is None:
            return ()
        # Videos never go: neither provider reads them.
        shown = [ref for ref in request.photos if ref.kind == "photo"][:MAX_TRIAGE_PICTURES]
        pictures = []
        for ref in shown:
            try:
                pictures.append(
                    Picture(media_type=ref.content_type, data=await self.photos(ref.key))
                )
            except LookupError:
                continue  # no longer kept (BlobMissing): the words still triage it
        return tuple(pictures)

    async def triage(self, request: TriageRequest) -> TriageResult:
        by_rules, met = read_by_rules(request.description, self.policy)
        if self.provider is None or request.offline:
            return TriageResult(triage=by_rules, provider="rules", emergency=met)
        data = {"unit": request.unit, "tenant_description": request.description}
        call = StructuredCall(
            task="triage_maintenance_request",
            system=prompts.triage_system(self.policy.written()),
            user="Triage this repair request.\n\n" + prompts.data_block("request", data),
            tool_name="record_triage",
            tool_description="Record the triage of the repair request.",
            schema=_schema(MaintenanceTriage),
            model=self.provider.fast_model,
            max_tokens=300,
            pictures=await self._pictures(request),
        )
        triage, usage = await ask(
            self.provider, call, MaintenanceTriage, self.log, f"maintenance-{request.request_id}"
        )
        raised = met is not None and not (triage.emergency and triage.priority == "emergency")
        if raised:
            # The model misread the danger; the criterion's trade goes with it.
            triage = triage.model_copy(
                update={
                    "emergency": True,
                    "priority": "emergency",
                    "category": by_rules.category,
                    "trade": by_rules.trade,
                }
            )
        elif triage.emergency and triage.priority != "emergency":
            # An emergency is one in every part that reads its priority (the queue, the
            # deadlines: a report's check waits 4 hours, not 48).
            triage = triage.model_copy(update={"priority": "emergency"})
        return TriageResult(
            triage=triage, provider=self.provider.name, usage=usage, emergency=met, raised=raised
        )


# -- spoken answers on a phone call ------------------------------------------------------------

MIN_SPOKEN_CONFIDENCE = 0.8
"""A model's approve or decline below this is unclear: the caller is asked again."""

# Yes in a few words that contain a no: taken out before the no words are looked for.
_YES_IDIOMS = re.compile(
    r"\b(no problem|no worries|sin problema|como no|pas de probleme|kein problem|sem problema)\b"
)
# A hedge is never a yes, whatever else was said.
_HEDGE = re.compile(
    r"\b(maybe|perhaps|not sure|unsure|i guess|probably|depends|let me think|i don'?t know|"
    r"dunno|quizas?|tal vez|no se|no estoy segur[oa]|peut-etre|je ne sais pas|pas sur|"
    r"vielleicht|weiss nicht|talvez|nao sei|"
    # A condition ("only if it's under 300") is not a yes the call can act on.
    r"if|unless|as long as|siempre que|a menos que|con tal de que|solo si|seulement si|"
    r"a condition que)\b"
)
_REPEAT = re.compile(
    r"\b(repeat|again|say that|pardon|come again|how much|what does it cost|what did you say|"
    r"who is the vendor|otra vez|repita|repite|cuanto|repetez|encore une fois|combien|"
    r"wiederholen|noch einmal|wie viel|repetir|de novo|quanto|(didn|couldn|can)'?t (catch|hear)|"
    r"what was that|what'?s the (amount|price|cost)|no (le |lo )?(entendi|escuche|oi|comprendo)|"
    r"je n'ai pas (compris|entendu))\b|^\s*(what|sorry)\W*$"
)
_NO = re.compile(
    r"\b(no|nope|nah|decline[sd]?|reject(ed)?|refuse[sd]?|\w+n't|do not|not approve|cancel|"
    r"negative|nein|non|nao|pas question|recha[zc]\w*|refusez|je refuse)\b"
)
_YES = re.compile(
    r"\b(yes|yeah|yep|yup|sure|ok|okay|go ahead|approved?|fine|do it|sounds good|absolutely|"
    r"of course|please do|record (it|that)|si|claro|vale|adelante|de acuerdo|aprue\w*|"
    r"aprob\w*|acept\w*|registr[ae]lo|por supuesto|esta bien|como no|oui|d'accord|allez-y|"
    r"j'approuve|approuve|"
    r"bien sur|ja|"
    r"einverstanden|genau|sim|pode|com certeza)\b"
)
# A yes word that is negated says no: "I do not approve", "don't go ahead", "that's not ok",
# "je ne suis pas d'accord", "nicht einverstanden", "no estoy de acuerdo", and an emphatic
# word turned round: "of course not", "claro que no", and French's "(je n')approuve pas".
# Only spaces may come between: a
# comma ends the negation.
_NEGATED_YES = re.compile(
    r"\b(not|never|\w+n'?t|do not|ne|pas|nicht|no|nao)\s+(\w+\s+)?"
    r"(approve|go ahead|do it|agree|accept|ok|okay|fine|record|d'accord|einverstanden|"
    r"apruebo|acepto|"
    r"de acuerdo)\w*|"
    r"\b(of course|absolutely|definitely|certainly|claro que|bien sur que|naturlich|sicher)"
    r"\s+(not|no|non|nicht|pas)\b|"
    # French says its no after the verb: "(je n')approuve pas".
    r"\b(approuv|accept)\w*\s+pas\b"
)
_LEADING_NO = re.compile(r"^\W*(no|don'?t|do not|nein|non|nao)\b")


def _plain(text: str) -> str:
    return fold(text).strip()


# "Si" without its accent is "if" in Spanish and French: "sí, si es menos de 500" sets a
# condition. Read before the accents are folded away.
_CONDITIONAL_SI = re.compile(r"\bsi\s+(es|son|no|el|la|lo|cuesta|sale|queda|baja|c'est|ca)\b")


def rules_spoken_answer(transcript: str) -> SpokenIntent:
    """Keyword rules: the offline reading of a spoken answer. Unclear unless it is plain."""
    text = _plain(transcript)
    if not text or _HEDGE.search(text) or _CONDITIONAL_SI.search(transcript.lower()):
        return "unclear"
    if _REPEAT.search(text):
        return "repeat"
    yes = bool(_YES_IDIOMS.search(text))
    text = _YES_IDIOMS.sub(" ", text)
    no = bool(_NEGATED_YES.search(text))
    text = _NEGATED_YES.sub(" no ", text)
    yes = yes or bool(_YES.search(text))
    no = no or bool(_NO.search(text))
    if no and yes:
        # "No, don't go ahead" says no; "yes... well, no" says nothing certain.
        return "decline" if _LEADING_NO.search(text) else "unclear"
    if no:
        return "decline"
    return "approve" if yes else "unclear"


class SpokenAnswerTask:
    """Reads what a person said to a yes-or-no question on a call: the provider's fast
    model once (someone is waiting on the line), the keyword rules without a model or when
    the model fails."""

    def __init__(self, provider: Provider | None, log: UsageLog) -> None:
        self.provider = provider
        self.log = log

    async def understand(
        self, question: str, transcript: str, reference: str
    ) -> SpokenAnswerResult:
        if self.provider is None:
            return SpokenAnswerResult(
                intent=rules_spoken_answer(transcript), heard=transcript, provider="rules"
            )
        call = StructuredCall(
            task="understand_spoken_answer",
            system=prompts.SPOKEN_ANSWER_SYSTEM,
            user="What did the owner answer?\n\n"
            + prompts.data_block("call", {"question": question, "owner_said": transcript}),
            tool_name="record_spoken_answer",
            tool_description="Record what the owner's spoken answer means.",
            schema=_schema(SpokenAnswer),
            model=self.provider.fast_model,
            max_tokens=100,
        )
        try:
            answer, usage = await ask(self.provider, call, SpokenAnswer, self.log, reference)
        except Exception:
            # ask() has logged the failed call; the rules answer while the caller waits.
            return SpokenAnswerResult(
                intent=rules_spoken_answer(transcript), heard=transcript, provider="rules"
            )
        intent = answer.intent
        if intent in ("approve", "decline") and answer.confidence < MIN_SPOKEN_CONFIDENCE:
            intent = "unclear"
        return SpokenAnswerResult(
            intent=intent, heard=transcript, provider=self.provider.name, usage=usage
        )
