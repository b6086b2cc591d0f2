"""The languages a call speaks: the owner's tag on file (BCP-47, ``es-US``), and the desk's
own fixed sentences in each language it has a table for.

A model speaks whatever language the owner speaks; what the engine says itself (the
greeting, the read-back, "are you still there?", the goodbyes) comes from these tables, so
the offline rules speak it too. A language without a table is spoken in English by the
engine, while Twilio still listens and speaks in the owner's language and the model is
told to use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsdesk.ai.emergency import fold
from opsdesk.maintenance.ids import spoken_request_id
from opsdesk.maintenance.notices import CallScript, spoken_money
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import Stage

DEFAULT_LANGUAGE = "en-US"
"""The desk's language: an owner with no language on file is called in it."""

# language[-Script]-REGION: what Twilio's speech recognition and voices are named by (a
# bare "es" names no accent to hear or voice to speak).
_TAG = re.compile(r"^([a-zA-Z]{2,3})(-[a-zA-Z]{4})?(-(?:[a-zA-Z]{2}|[0-9]{3}))$")


def language_tag(value: str) -> str:
    """``value`` as a language tag in its usual case (``es-us`` -> ``es-US``); raises
    ``ValueError`` with a sentence for anything else."""
    found = _TAG.match(value.strip())
    if found is None:
        raise ValueError(
            f"{value!r} is not a language tag: write the language and its region, "
            "such as en-US, es-US or fr-CA"
        )
    language, script, region = found.groups()
    return language.lower() + (f"-{script[1:].title()}" if script else "") + region.upper()


@dataclass(frozen=True)
class Phrases:
    """The engine's own sentences in one language."""

    keys: str
    confirm_keys: str
    invite: str
    """After the question in the greeting: the owner may ask, or answer."""
    read_back: str
    """``{verb}`` the decision, ``{decision}`` what it is about."""
    approve: str
    decline: str
    recorded: str
    """After an answer was recorded: ``{verb}``, ``{decision}``."""
    not_recorded: str
    no_such_key: str
    still_there: str
    no_answer: str
    trouble: str
    only_yes_or_no: str
    only_amount: str
    """``{amount}``: the amount on file."""
    not_owner: str
    """``{owner}``."""
    off_topic: str
    thanks: str
    """The call's last words."""
    answered_first: str
    moved_on: str
    """The question closed while the call went on: the request moved on."""
    does_not_fit: str
    not_found: str
    could_not: str
    """The answer could not reach the request just now."""
    link_in_email: str
    """How the owner can still answer: the link in the email they were sent..."""
    will_email: str
    """...or the email the question will come in."""


ENGLISH = Phrases(
    keys="Press 1 to approve, 2 to decline, or 9 to hear this again.",
    confirm_keys="Say yes or press 1 to record it; say no or press 2 if not.",
    invite="You can ask me about it, or just tell me your answer.",
    read_back="So you {verb} {decision}. Shall I record that?",
    approve="approve",
    decline="decline",
    recorded="I have recorded that you {verb} {decision}.",
    not_recorded="All right, I have not recorded anything.",
    no_such_key="Sorry, that key does nothing here.",
    still_there="Are you still there?",
    no_answer="Sorry, I did not hear an answer, so nothing is recorded.",
    trouble="Sorry, I am having trouble with this conversation.",
    only_yes_or_no="I can only record a yes or a no to this question.",
    only_amount="I can only record an approval of {amount}, the amount on file.",
    not_owner=(
        "I am sorry, I can only discuss this with the owner, {owner}. "
        "Please ask them to call our office."
    ),
    off_topic="Sorry, I can only help with this request, and I did not catch an answer.",
    thanks="Thank you, goodbye.",
    answered_first=(
        "Someone answered first: this question has already been answered, so nothing was changed."
    ),
    moved_on=(
        "This question is closed: the request has moved on since we called, "
        "so nothing was changed. Our office can tell you more."
    ),
    does_not_fit="Sorry, that answer does not fit this question, so nothing was changed.",
    not_found="Sorry, we cannot find this request any more.",
    could_not="Sorry, we could not record your answer just now.",
    link_in_email="You can still answer with the link in the email we sent you.",
    will_email="We will email you the question, so you can answer from there.",
)

SPANISH = Phrases(
    keys="Pulse 1 para aprobar, 2 para rechazar, o 9 para escuchar esto de nuevo.",
    confirm_keys="Diga sí o pulse 1 para registrarlo; diga no o pulse 2 si no.",
    invite="Puede preguntarme sobre esto, o simplemente darme su respuesta.",
    read_back="Entonces usted {verb} {decision}. ¿Lo registro?",
    approve="aprueba",
    decline="rechaza",
    recorded="He registrado que usted {verb} {decision}.",
    not_recorded="De acuerdo, no he registrado nada.",
    no_such_key="Lo siento, esa tecla no hace nada aquí.",
    still_there="¿Sigue ahí?",
    no_answer="Lo siento, no escuché una respuesta, así que no se registró nada.",
    trouble="Lo siento, tengo problemas con esta conversación.",
    only_yes_or_no="Solo puedo registrar un sí o un no a esta pregunta.",
    only_amount="Solo puedo registrar una aprobación de {amount}, el importe registrado.",
    not_owner=(
        "Lo siento, solo puedo hablar de esto con el propietario, {owner}. "
        "Por favor, pídale que llame a nuestra oficina."
    ),
    off_topic="Lo siento, solo puedo ayudar con esta solicitud, y no entendí una respuesta.",
    thanks="Gracias, adiós.",
    answered_first=(
        "Alguien respondió primero: esta pregunta ya tiene respuesta, así que no se cambió nada."
    ),
    moved_on=(
        "Esta pregunta está cerrada: la solicitud avanzó desde que le llamamos, así que no "
        "se cambió nada. Nuestra oficina puede darle más detalles."
    ),
    does_not_fit="Lo siento, esa respuesta no corresponde a esta pregunta; no se cambió nada.",
    not_found="Lo siento, ya no encontramos esta solicitud.",
    could_not="Lo siento, no pudimos registrar su respuesta en este momento.",
    link_in_email="Todavía puede responder con el enlace del correo que le enviamos.",
    will_email="Le enviaremos la pregunta por correo, para que pueda responder desde allí.",
)

_TABLES = {"en": ENGLISH, "es": SPANISH}
# "¿Habla español?", "in English please": the caller asks for the other language the desk
# has a table for. Read on folded words (no accents, lower case).
_ASKED_FOR = (
    (re.compile(r"\b(espanol|spanish|castellano)\b"), "es-US"),
    (re.compile(r"\b(english|ingles)\b"), "en-US"),
)
# A language named only to say no to it asks for nothing: "I don't speak Spanish",
# "no hablo ingles".
_NEGATED = re.compile(
    r"\b(no|not|never|nunca|\w+n't|cannot)(\s+\w+){0,2}?\s+"
    r"(espanol|spanish|castellano|english|ingles)\b"
)
_SPANISH_MONEY = {"USD": ("dólar", "dólares"), "EUR": ("euro", "euros"), "MXN": ("peso", "pesos")}


def phrases(language: str) -> Phrases:
    """The engine's sentences for ``language``; English for one without a table."""
    return _TABLES.get(language.split("-", 1)[0].lower(), ENGLISH)


def asked_language(heard: str, current: str) -> str | None:
    """The language the caller asks the call to speak instead of ``current``, if they
    ask for one the desk has sentences in; None otherwise."""
    text = _NEGATED.sub(" ", fold(heard))
    for pattern, tag in _ASKED_FOR:
        if pattern.search(text) and phrases(tag) is not phrases(current):
            return tag
    return None


def _spanish_money(cents: int | None, currency: str) -> str:
    if cents is None:
        return "un importe aún no conocido"
    words = _SPANISH_MONEY.get(currency)
    if words is None:
        return spoken_money(cents, currency)
    whole, part = divmod(cents, 100)
    word = words[0] if whole == 1 else words[1]
    return f"{whole:,} {word}" + (f" con {part} centavos" if part else "")


def call_script_in(
    state: RequestState, stage: Stage, language: str, english: CallScript
) -> CallScript:
    """The call's greeting and question in ``language`` (``english`` for a language
    without a table). The problem and names stay as written: they are the request's data."""
    if phrases(language) is not SPANISH:
        return english
    premises = state.premises
    where = f"{premises.address}, unidad {state.form.unit}" if premises else "su propiedad"
    name = premises.owner_name if premises else "propietario"
    problem = state.triage.summary if state.triage else state.form.description[:200]
    vendor = state.vendor.name if state.vendor else "el proveedor"
    intro = (
        f"Hola {name}, le llama Ops Desk por la solicitud "
        f"{spoken_request_id(state.request_id)} en {where}. El problema: {problem.rstrip('.')}."
    )
    if stage is Stage.ESTIMATE_APPROVAL:
        amount = _spanish_money(state.quote_cents, state.currency)
        limit = _spanish_money(premises.auto_approve_cents if premises else 0, state.currency)
        intro += f" {vendor} presupuesta {amount}, por encima de su límite de {limit}."
        return CallScript(intro, "¿Aprueba el presupuesto?", f"el presupuesto de {amount}")
    if stage is Stage.INVOICE_APPROVAL:
        amount = _spanish_money(state.invoice_cents, state.currency)
        intro += f" {vendor} ha hecho el trabajo y factura {amount}."
        return CallScript(
            intro, "¿Aprueba el pago de la factura?", f"la factura de {amount} de {vendor}"
        )
    return CallScript(intro, "¿Podemos seguir adelante con esta reparación?", "la reparación")
