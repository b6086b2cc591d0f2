"""What the AI tasks return, as the model must produce it. No I/O: workflows import this."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from opsdesk.files.refs import FileRef

TRIAGE_MAINTENANCE_REQUEST = "triage_maintenance_request"


class AiUsage(BaseModel):
    """Cost and audit of one model call."""

    provider: str
    model: str
    task: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0


class RiskVerdict(BaseModel):
    """A model's fraud assessment. Extra keys, or values outside these, are invalid output."""

    model_config = ConfigDict(extra="forbid")

    risk_score: Annotated[
        int, Field(ge=0, le=100, description="0 = certainly fine, 100 = certainly fraud")
    ]
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)
    ] = Field(description="One sentence an ops person can act on, naming the signals.")
    recommended_action: Literal["approve", "review", "reject"]


class EmailProse(BaseModel):
    """The words a model may write in a customer email. The order's facts (items, amounts,
    ids) are not among them: the template fills those in from data."""

    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=120)]
    opening: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=600)
    ] = Field(description="One or two warm sentences before the order summary.")
    closing: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=5, max_length=400)
    ] = Field(description="One or two sentences after it: what happens next.")


Category = Literal[
    "plumbing",
    "electrical",
    "heating_cooling",
    "appliance",
    "pest",
    "structural",
    "locks_security",
    "other",
]


Priority = Literal["emergency", "urgent", "routine"]

Trade = Literal[
    "plumber",
    "electrician",
    "hvac",
    "appliance_repair",
    "pest_control",
    "locksmith",
    "handyman",
]

TRADE_WORDS: dict[Trade, str] = {
    "plumber": "a plumber",
    "electrician": "an electrician",
    "hvac": "an HVAC technician",
    "appliance_repair": "an appliance repairer",
    "pest_control": "a pest controller",
    "locksmith": "a locksmith",
    "handyman": "a handyman",
}
"""Who a trade is, in a sentence, with its article: "needs an HVAC technician"."""

TRADE_OF_CATEGORY: dict[str, Trade] = {
    "plumbing": "plumber",
    "electrical": "electrician",
    "heating_cooling": "hvac",
    "appliance": "appliance_repair",
    "pest": "pest_control",
    "locks_security": "locksmith",
    "structural": "handyman",
    "other": "handyman",
}
"""The trade a category usually needs: the offline rules' answer, and a model's default."""

CATEGORY_OF_TRADE: dict[Trade, Category] = {
    "plumber": "plumbing",
    "electrician": "electrical",
    "hvac": "heating_cooling",
    "appliance_repair": "appliance",
    "pest_control": "pest",
    "locksmith": "locks_security",
    "handyman": "other",
}
"""The category work for a trade falls under: a preventive job names its trade only."""


class MaintenanceTriage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category
    priority: Priority = Field(
        description="emergency: now; urgent: within a day or two; routine: within a week or so."
    )
    emergency: bool = Field(description="Danger to people or property right now.")
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=140)]
    trade: Trade = Field(description="Who should do the work.")
    # Cut, not refused: a long description must not cost the triage it came with.
    photos_show: Annotated[str, AfterValidator(lambda text: text.strip()[:300])] = Field(
        "",
        description="What the tenant's photos show, in one plain sentence the owner can "
        "picture; empty when you were shown none.",
    )
    """The photos in words, for an owner on the phone (empty from the offline rules, from a
    model that reads no images, and in triages from before)."""


class TriageRequest(BaseModel):
    request_id: str
    description: Annotated[str, StringConstraints(max_length=4000)]
    """What the tenant wrote: data, never instructions."""
    unit: str = ""
    offline: bool = False
    """Triage by the offline rules: the model could not answer."""
    photos: list[FileRef] = []
    """The tenant's photos, by reference: a model that reads images is shown them."""


class EmergencyMatch(BaseModel):
    """Which written emergency criterion a description met, and the words that showed it:
    the triage's emergency explained (``opsdesk.ai.emergency``)."""

    criterion: str
    """The criterion's id in the policy file (``gas``, ``no_heat``)."""
    words: str
    """The criterion in plain words, as the policy writes it."""
    heard: str
    """The tenant's words that met it."""
    call_first: str = ""
    """The emergency number the tenant should call before anything else (gas, smoke,
    carbon monoxide); empty when the criterion asks for none."""


class TriageResult(BaseModel):
    triage: MaintenanceTriage
    provider: str
    usage: AiUsage | None = None
    fallback: bool = False
    emergency: EmergencyMatch | None = None
    """The written criterion the description met, if any (None in results from before)."""
    raised: bool = False
    """The model did not call it an emergency, and the written criteria made it one."""


SpokenIntent = Literal["approve", "decline", "repeat", "unclear"]


class SpokenAnswer(BaseModel):
    """What a person said on the phone to a yes-or-no question, as a model reads it."""

    model_config = ConfigDict(extra="forbid")

    intent: SpokenIntent = Field(
        description=(
            "approve: they clearly said yes to the question; decline: they clearly said no; "
            "repeat: they asked to hear the question or a fact again; unclear: anything else "
            "(a hedge, a question about something else, silence, off-topic words)."
        )
    )
    confidence: Annotated[float, Field(ge=0, le=1, strict=True, allow_inf_nan=False)] = Field(
        description="How sure you are of the intent, from 0 to 1."
    )


class SpokenAnswerResult(BaseModel):
    intent: SpokenIntent
    """What the call acts on: a model's approve or decline below the confidence floor is
    ``unclear``."""
    heard: str
    provider: str
    usage: AiUsage | None = None
