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
from datetime import datetime

from babel.core import UnknownLocaleError
from babel.dates import format_datetime

from opsdesk.ai.emergency import fold
from opsdesk.clock import zone_of
from opsdesk.maintenance.notices import ENGLISH_SCRIPT, MoneyWords, ScriptWords

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


_SPANISH_MONEY = MoneyWords(
    units={
        "USD": ("dólar", "dólares"),
        "CAD": ("dólar", "dólares"),
        "AUD": ("dólar", "dólares"),
        "EUR": ("euro", "euros"),
        "MXN": ("peso", "pesos"),
    },
    small={"": ("centavo", "centavos")},
    joiner=" con ",
    unknown="un monto aún no conocido",
)
_FRENCH_MONEY = MoneyWords(
    units={
        "USD": ("dollar", "dollars"),
        "CAD": ("dollar", "dollars"),
        "AUD": ("dollar", "dollars"),
        "EUR": ("euro", "euros"),
    },
    small={"": ("cent", "cents"), "EUR": ("centime", "centimes")},
    joiner=" et ",
    unknown="un montant encore inconnu",
    thousands=" ",
    zero_is_one=True,
)


@dataclass(frozen=True)
class Phrases:
    """The desk's own sentences in one language: a conversation's, and the key-press
    call's."""

    script: ScriptWords
    """The call's greeting and question."""
    when: str
    """A time as the call says it, a Babel pattern: ``EEEE d MMMM 'at' h:mm a``."""
    property_time: str
    """After a deadline: whose clock it is."""
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
    # The key-press call's sentences.
    cut_off: str
    finish_with_keys: str
    """A conversation failed: the question is asked again for the keypad."""
    last_time: str
    not_understood: str
    did_not_hear: str
    did_not_catch: str
    already_recorded: str
    cannot_take: str
    # The offline rules' answers to the questions a call usually hears.
    cost_is: str
    estimate_is: str
    no_price: str
    vendor_is: str
    no_vendor: str
    address_is: str
    unit: str
    deadline_is: str
    no_deadline: str
    photos: str
    """``{count}`` photos or videos."""
    one_photo: str
    no_photos: str
    photos_show: str
    """``{what}``: the photos in words, as triage described them."""
    visit_is: str
    """``{when}``: the visit booked."""
    no_visit: str
    """No visit booked yet: when it will be, and that a call cannot move it."""
    problem_is: str
    not_known: str
    limit_is: str
    """``{limit}``: the owner's approval limit."""
    dont_know: str
    """Asked about something the facts do not hold."""
    invoice_is: str
    """``{lines}``: the invoice's lines and tax, as the script says them."""
    no_invoice: str


ENGLISH = Phrases(
    script=ENGLISH_SCRIPT,
    when="EEEE d MMMM 'at' h:mm a",
    property_time="the property's time",
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
    cut_off="Sorry, we were cut off.",
    finish_with_keys="Let us finish with the keypad.",
    last_time="That was the last time through.",
    not_understood="Sorry, I could not understand your answer, so nothing is recorded.",
    did_not_hear="Sorry, I did not hear an answer.",
    did_not_catch="Sorry, I did not catch that.",
    already_recorded="Your answer on this call is already recorded.",
    cannot_take=(
        "Sorry, we cannot take answers right now. "
        "Please use the link in our email, or contact our office."
    ),
    cost_is="It is {amount}.",
    estimate_is="The vendor's estimate is {amount}.",
    no_price="There is no price yet: the vendor quotes once you approve the repair.",
    vendor_is="The vendor is {vendor}.",
    no_vendor="No vendor is chosen yet.",
    address_is="It is at {address}{unit}.",
    unit=", unit {unit}",
    deadline_is="We need your answer by {deadline}.",
    no_deadline="I do not know the deadline; our office can tell you.",
    photos="The tenant sent {count} photos or videos.",
    one_photo="The tenant sent one photo or video.",
    no_photos="The tenant sent no photos.",
    photos_show="What they show: {what}",
    visit_is="The vendor's visit is booked for {when}.",
    no_visit=(
        "The vendor books the visit with the tenant once the repair goes ahead. I cannot "
        "change days on this call, but our office can pass on your wishes."
    ),
    problem_is="The problem: {problem}.",
    not_known="not known",
    limit_is="Your approval limit is {limit}: above it, we ask you first.",
    dont_know="I do not know; our office can tell you.",
    invoice_is="The invoice: {lines}.",
    no_invoice="There is no invoice yet: the vendor sends it once the work is done.",
)

SPANISH_SCRIPT = ScriptWords(
    money=_SPANISH_MONEY,
    number="número",
    hello="Hola {name}, le llama Ops Desk por la solicitud {request} en {where}. "
    "El problema: {problem}.",
    where="{address}, unidad {unit}",
    your_property="su propiedad",
    the_owner="propietario",
    the_vendor="el proveedor",
    estimate=" {vendor} cotiza {amount}, por encima de su límite de {limit}.",
    estimate_question="¿Aprueba la cotización?",
    estimate_decision="la cotización de {amount}",
    invoice=" {vendor} ha hecho el trabajo y factura {amount}",
    invoice_line="{amount} de {kind}",
    invoice_tax="{amount} de impuestos",
    and_="y",
    over=" Eso es {amount} más que la cotización.",
    invoice_question="¿Aprueba el pago de la factura?",
    invoice_decision="la factura de {amount} de {vendor}",
    rated=" La consideramos {priority}.",
    repair_question="¿Podemos seguir adelante con esta reparación?",
    repair_decision="la reparación",
    keys="Oprima 1 para aprobar, 2 para rechazar, o 9 para escuchar esto de nuevo. "
    "O simplemente diga su respuesta.",
    line_kinds={"labour": "mano de obra", "materials": "materiales"},
    priorities={"emergency": "una emergencia", "urgent": "urgente", "routine": "rutinaria"},
)

SPANISH = Phrases(
    script=SPANISH_SCRIPT,
    when="EEEE d 'de' MMMM 'a las' h:mm a",
    property_time="hora de la propiedad",
    keys="Oprima 1 para aprobar, 2 para rechazar, o 9 para escuchar esto de nuevo.",
    confirm_keys="Diga sí u oprima 1 para registrarlo; diga no u oprima 2 si no.",
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
    only_amount="Solo puedo registrar una aprobación de {amount}, el monto registrado.",
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
    cut_off="Lo siento, se cortó la llamada.",
    finish_with_keys="Terminemos con el teclado.",
    last_time="Esa fue la última repetición.",
    not_understood="Lo siento, no entendí su respuesta, así que no se registró nada.",
    did_not_hear="Lo siento, no escuché una respuesta.",
    did_not_catch="Lo siento, no le entendí.",
    already_recorded="Su respuesta en esta llamada ya está registrada.",
    cannot_take=(
        "Lo siento, ahora no podemos recibir respuestas. "
        "Use el enlace de nuestro correo, o llame a nuestra oficina."
    ),
    cost_is="El monto es de {amount}.",
    estimate_is="La cotización del proveedor es de {amount}.",
    no_price="Todavía no hay precio: el proveedor cotiza cuando usted aprueba la reparación.",
    vendor_is="El proveedor es {vendor}.",
    no_vendor="Todavía no se ha elegido proveedor.",
    address_is="Está en {address}{unit}.",
    unit=", unidad {unit}",
    deadline_is="Necesitamos su respuesta antes del {deadline}.",
    no_deadline="No sé el plazo; nuestra oficina se lo puede decir.",
    photos="El inquilino envió {count} fotos o videos.",
    one_photo="El inquilino envió una foto o un video.",
    no_photos="El inquilino no envió fotos.",
    photos_show="Lo que muestran: {what}",
    visit_is="La visita del proveedor está programada para el {when}.",
    no_visit=(
        "El proveedor acuerda la visita con el inquilino cuando la reparación sigue adelante. "
        "No puedo cambiar días en esta llamada, pero nuestra oficina puede transmitir sus "
        "preferencias."
    ),
    problem_is="El problema: {problem}.",
    not_known="no se sabe",
    limit_is="Su límite de aprobación es de {limit}: por encima, le preguntamos primero.",
    dont_know="No lo sé; nuestra oficina se lo puede decir.",
    invoice_is="La factura: {lines}.",
    no_invoice="Todavía no hay factura: el proveedor la envía cuando termina el trabajo.",
)

FRENCH_SCRIPT = ScriptWords(
    money=_FRENCH_MONEY,
    number="numéro",
    hello="Bonjour {name}, ici Ops Desk. Nous vous appelons au sujet de la demande {request}, "
    "{where}. Le problème : {problem}.",
    where="{address}, logement {unit}",
    your_property="votre propriété",
    the_owner="propriétaire",
    the_vendor="le fournisseur",
    estimate=" {vendor} estime les travaux à {amount}, au-delà de votre limite de {limit}.",
    estimate_question="Approuvez-vous le devis?",
    estimate_decision="le devis de {amount}",
    invoice=" {vendor} a terminé les travaux et facture {amount}",
    invoice_line="{amount} de {kind}",
    invoice_tax="{amount} de taxes",
    and_="et",
    over=" C'est {amount} de plus que le devis.",
    invoice_question="Approuvez-vous le paiement de la facture?",
    invoice_decision="la facture de {amount} de {vendor}",
    rated=" Priorité : {priority}.",
    repair_question="Pouvons-nous aller de l'avant avec cette réparation?",
    repair_decision="la réparation",
    keys="Appuyez sur 1 pour approuver, 2 pour refuser, ou 9 pour réentendre ce message. "
    "Ou dites simplement votre réponse.",
    line_kinds={"labour": "main-d'œuvre", "materials": "matériaux"},
    priorities={"emergency": "urgence immédiate", "urgent": "urgente", "routine": "normale"},
)

FRENCH = Phrases(
    script=FRENCH_SCRIPT,
    when="EEEE d MMMM 'à' H 'h' mm",
    property_time="heure de la propriété",
    keys="Appuyez sur 1 pour approuver, 2 pour refuser, ou 9 pour réentendre ce message.",
    confirm_keys="Dites oui ou appuyez sur 1 pour l'enregistrer; dites non ou appuyez sur 2 sinon.",
    invite="Vous pouvez me poser des questions, ou simplement me donner votre réponse.",
    read_back="Donc, vous {verb} {decision}. Dois-je l'enregistrer?",
    approve="approuvez",
    decline="refusez",
    recorded="J'ai enregistré que vous {verb} {decision}.",
    not_recorded="D'accord, je n'ai rien enregistré.",
    no_such_key="Désolé, cette touche ne fait rien ici.",
    still_there="Êtes-vous toujours là?",
    no_answer="Désolé, je n'ai pas entendu de réponse, donc rien n'est enregistré.",
    trouble="Désolé, j'ai des difficultés avec cette conversation.",
    only_yes_or_no="Je peux seulement enregistrer un oui ou un non à cette question.",
    only_amount=(
        "Je peux seulement enregistrer une approbation de {amount}, le montant au dossier."
    ),
    not_owner=(
        "Je suis désolé, je peux seulement en discuter avec le propriétaire, {owner}. "
        "Veuillez lui demander d'appeler notre bureau."
    ),
    off_topic=(
        "Désolé, je peux seulement vous aider avec cette demande, et je n'ai pas saisi de réponse."
    ),
    thanks="Merci, au revoir.",
    answered_first=(
        "Quelqu'un a répondu en premier : cette question a déjà une réponse, donc rien n'a "
        "été changé."
    ),
    moved_on=(
        "Cette question est fermée : la demande a avancé depuis notre appel, donc rien n'a "
        "été changé. Notre bureau peut vous en dire plus."
    ),
    does_not_fit=(
        "Désolé, cette réponse ne correspond pas à cette question, donc rien n'a été changé."
    ),
    not_found="Désolé, nous ne trouvons plus cette demande.",
    could_not="Désolé, nous n'avons pas pu enregistrer votre réponse pour le moment.",
    link_in_email=(
        "Vous pouvez encore répondre avec le lien dans le courriel que nous vous avons envoyé."
    ),
    will_email="Nous vous enverrons la question par courriel, pour que vous puissiez y répondre.",
    cut_off="Désolé, l'appel a été coupé.",
    finish_with_keys="Terminons avec le clavier.",
    last_time="C'était la dernière fois.",
    not_understood="Désolé, je n'ai pas compris votre réponse, donc rien n'est enregistré.",
    did_not_hear="Désolé, je n'ai pas entendu de réponse.",
    did_not_catch="Désolé, je n'ai pas compris.",
    already_recorded="Votre réponse à cet appel est déjà enregistrée.",
    cannot_take=(
        "Désolé, nous ne pouvons pas prendre de réponses pour le moment. "
        "Utilisez le lien dans notre courriel, ou contactez notre bureau."
    ),
    cost_is="C'est {amount}.",
    estimate_is="Le devis du fournisseur est de {amount}.",
    no_price=(
        "Il n'y a pas encore de prix : le fournisseur fait son devis une fois la réparation "
        "approuvée."
    ),
    vendor_is="Le fournisseur est {vendor}.",
    no_vendor="Aucun fournisseur n'est encore choisi.",
    address_is="C'est au {address}{unit}.",
    unit=", logement {unit}",
    deadline_is="Nous avons besoin de votre réponse avant le {deadline}.",
    no_deadline="Je ne connais pas le délai; notre bureau peut vous le dire.",
    photos="Le locataire a envoyé {count} photos ou vidéos.",
    one_photo="Le locataire a envoyé une photo ou une vidéo.",
    no_photos="Le locataire n'a envoyé aucune photo.",
    photos_show="Ce qu'elles montrent : {what}",
    visit_is="La visite du fournisseur est prévue le {when}.",
    no_visit=(
        "Le fournisseur fixe la visite avec le locataire une fois la réparation approuvée. "
        "Je ne peux pas changer de jour pendant cet appel, mais notre bureau peut transmettre "
        "vos souhaits."
    ),
    problem_is="Le problème : {problem}.",
    not_known="inconnu",
    limit_is="Votre limite d'approbation est de {limit} : au-delà, nous vous demandons d'abord.",
    dont_know="Je ne sais pas; notre bureau peut vous le dire.",
    invoice_is="La facture : {lines}.",
    no_invoice="Il n'y a pas encore de facture : le fournisseur l'envoie une fois les travaux "
    "terminés.",
)

_TABLES = {"en": ENGLISH, "es": SPANISH, "fr": FRENCH}
# The languages a caller may ask for by name: those the desk has sentences in. Read on
# folded words (no accents, lower case).
_NAMES = {
    "espanol": "es",
    "spanish": "es",
    "castellano": "es",
    "english": "en",
    "ingles": "en",
    "anglais": "en",
    "francais": "fr",
    "french": "fr",
    "frances": "fr",
}
_NAME = "(" + "|".join(_NAMES) + ")"
_TAGS = {"es": "es-US", "en": "en-US", "fr": "fr-CA"}
"""Each language's tag when the owner has no other on file in it."""
# Asking the desk for a language: the language alone ("Spanish, please"), "in Spanish",
# "speak Spanish" said to the desk ("can you speak Spanish?", "¿habla español?"), or "I'd
# prefer Spanish". Named any other way ("does the plumber speak Spanish?") it is only
# talked about.
_ASKED = re.compile(
    rf"^\W*(please\W+|por favor\W+)?{_NAME}(\W+please|\W+por favor|\W+s'il vous plait)?\W*$"
    rf"|(^|[,.;:!?¿]\s*)(please\s+|por favor\s+)?(in|en)\s+{_NAME}\b"
    rf"|\b(this|it|todo|esto|eso|continue|continuar|seguir|sigamos|siga|hablemos|go on)"
    rf"\s+(in|en)\s+{_NAME}\b"
    rf"|\b(can|could|would|will|do)\s+(you|we)\s+(please\s+)?(speak|talk|continue|go on)"
    rf"\s+(in\s+)?{_NAME}\b"
    rf"|(^|[,.;:!?¿]\s*)(please\s+)?(speak|talk)\s+(in\s+)?{_NAME}\b"
    rf"|(^|[,.;:!?¿]\s*)(usted\s+|tu\s+)?(habla|hablas|hable|hableme|podemos hablar|"
    rf"puede hablar|parlez-vous|parlez|pouvez-vous parler|on peut parler)\s+(usted\s+)?"
    rf"(en\s+)?{_NAME}\b"
    rf"|\b(prefer|prefiero|prefere|rather|want|quiero|voudrais)\s+(to\s+|que\s+)?"
    rf"(speak\s+|talk\s+|hablar\s+|parler\s+|continue\s+|continuar\s+)?(in\s+|en\s+)?{_NAME}\b"
)
# A language named only to say no to it asks for nothing: "I don't speak Spanish",
# "no hablo bien el ingles".
_NEGATED = re.compile(rf"\b(no|not|never|nunca|ne|pas|\w+n't|cannot)(\s+\w+){{0,3}}?\s+{_NAME}\b")


def phrases(language: str) -> Phrases:
    """The engine's sentences for ``language``; English for one without a table."""
    return _TABLES.get(language.split("-", 1)[0].lower(), ENGLISH)


def asked_language(heard: str, current: str, home: str = DEFAULT_LANGUAGE) -> str | None:
    """The language the caller asks the call to speak instead of ``current``, if they ask
    for one the desk has sentences in: ``home`` (the owner's on file) when it is that
    language, its usual tag otherwise; None when they ask for none, or for ``current``."""
    text = _NEGATED.sub(" ", fold(heard))
    found = _ASKED.search(text)
    if found is None:
        return None
    name = next(group for group in reversed(found.groups()) if group in _NAMES)
    wanted = _NAMES[name]
    if wanted == _base(current):
        return None
    return home if _base(home) == wanted else _TAGS[wanted]


def sentences_language(language: str) -> str:
    """The language the desk's own sentences for ``language`` are in: it, when the desk has
    a table for it; the desk's own otherwise."""
    return language if _base(language) in _TABLES else DEFAULT_LANGUAGE


def call_languages(language: str) -> list[str]:
    """The languages a call in ``language`` (the owner's) may speak: its own, then each
    other one a caller may ask for (``asked_language``)."""
    return [language] + [tag for base, tag in _TAGS.items() if base != _base(language)]


def _base(tag: str) -> str:
    return tag.split("-", 1)[0].lower()


def spoken_time(at: datetime, zone: str | None, language: str) -> str:
    """A time as the call says it in ``language``, on the property's clock, its clock
    named: "Tuesday 8 December at 5:00 PM, the property's time"."""
    words = phrases(language)
    # The table's own language names the days: an owner without one hears English.
    tag = language if language.split("-", 1)[0].lower() in _TABLES else DEFAULT_LANGUAGE
    local = at.astimezone(zone_of(zone))
    try:
        said = format_datetime(local, words.when, locale=tag.replace("-", "_"))
    except UnknownLocaleError:  # a region Babel does not know: the language alone
        said = format_datetime(local, words.when, locale=tag.split("-", 1)[0])
    if words is SPANISH and local.hour % 12 == 1:
        said = said.replace(" a las ", " a la ")  # "a la 1:05", one hour is singular
    return f"{said}, {words.property_time}"
