"""The owner's phone call: the webhooks Twilio calls while the owner is on the line.

Every request must carry Twilio's signature over our public URL and the posted form; one
that does not is refused (403), logged, and never reaches a workflow. The token in the
path is the call's grant: one question, one round, one answer, as an email link's is. A
key press or a spoken answer becomes the same update the email link sends, with the
call's id as the answer's id, so whichever answer reaches the request first wins and the
other hears who answered.

The callee always hears a whole sentence before the line closes: what was recorded (or
why nothing was) and thanks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.requests import HTTPConnection
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError
from twilio.twiml.voice_response import Connect, Gather, VoiceResponse

from opsdesk.ai.models import SpokenIntent
from opsdesk.ai.select import build_provider
from opsdesk.ai.tasks import SpokenAnswerTask, rules_spoken_answer
from opsdesk.ai.usage import UsageLog
from opsdesk.maintenance import service
from opsdesk.maintenance.conversation.choice import Handoff, conversation_on
from opsdesk.maintenance.conversation.languages import (
    DEFAULT_LANGUAGE,
    ENGLISH,
    Phrases,
    call_languages,
    phrases,
    sentences_language,
)
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import request_id_of, request_workflow_id
from opsdesk.maintenance.inputs import CallEnded, Decision
from opsdesk.maintenance.link_uses import LinkUses
from opsdesk.maintenance.notices import CALLED_STAGES, CallScript, call_script
from opsdesk.maintenance.pages import signer_of
from opsdesk.maintenance.rules import NOT_WAITING, answered_by, zone_of
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import CHANNEL_WORDS, Stage
from opsdesk.notify.call_state import CallView, FirstAnswer, call_view
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.models import CallOutcome, OutboxEntry
from opsdesk.notify.outbox import Outbox
from opsdesk.notify.signing import LinkRefused
from opsdesk.notify.voice import (
    CALLS_PATH,
    SIGNATURE_HEADER,
    WebhookSignature,
    call_urls,
    relay_url,
    webhook_auth_token,
)
from opsdesk.security_events import record
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.forms import read_form
from opsdesk.web.limits import rate_limited
from opsdesk.web.params import whole_number

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The dev phone (opsdesk.notify) asks this desk which of its calls were answered first
    # another way: notify imports no desk.
    app.state.first_answers = first_answers
    yield


router = APIRouter(
    include_in_schema=False,
    lifespan=_lifespan,
    dependencies=[Depends(rate_limited("machines"))],
)

MAX_MISSES = 2
"""Silence or an unclear answer asks again this many times; then the call ends politely."""
MAX_PLAYS = 4
"""How often "9" may replay the whole message."""
SPEECH_WAIT = 5.0
"""Seconds a model may take to understand a spoken answer; the rules answer after that
(Twilio waits about 15 s for our reply, and a person is listening)."""
ANSWER_WAIT = timedelta(seconds=4)
"""The answer counts once the request has taken it; waiting for the rest of its step only
lets the reply say more. Twilio waits about 15 s for a reply in all."""

_KEYS: dict[str, SpokenIntent] = {"1": "approve", "2": "decline", "9": "repeat"}
_FINAL_OUTCOMES: dict[str, CallOutcome] = {
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "canceled",
}
"""Twilio's final call statuses; the others (queued, ringing, in-progress) are not kept."""


class _Refused(Exception):
    """The request is not Twilio's, or not for a call: 403."""


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), media_type="application/xml")


def _spoken(language: str) -> dict[str, str]:
    """``<Say>``'s and ``<Gather>``'s language: the one the sentences are in (an owner whose
    language has no table hears English, in an English voice); the desk's own keeps
    Twilio's defaults."""
    said = sentences_language(language)
    return {} if said == DEFAULT_LANGUAGE else {"language": said}


def _goodbye(*sentences: str, language: str = DEFAULT_LANGUAGE) -> Response:
    """Say the sentences (in the call's ``language``), then thank and hang up: never a
    goodbye mid-sentence."""
    response = VoiceResponse()
    spoken = _spoken(language)
    for sentence in sentences:
        response.say(sentence, **spoken)
    response.say(phrases(language).thanks, **spoken)
    response.pause(length=1)
    response.hangup()
    return _twiml(response)


def webhook_signature(request: HTTPConnection) -> WebhookSignature:
    """The check of Twilio's signatures, made once per app: the webhooks' and the
    conversation's WebSocket's."""
    signature: WebhookSignature | None = getattr(request.app.state, "twilio_signature", None)
    if signature is None:
        signature = WebhookSignature(webhook_auth_token(settings_of(request)))
        request.app.state.twilio_signature = signature
    return signature


def public_url_of(request: Request) -> str:
    """The URL Twilio requested, as Twilio saw it: our public URL, not whatever host and
    scheme a proxy in front of us passed on."""
    base = settings_of(request).resolved_public_url.rstrip("/")
    query = request.url.query
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


async def _from_twilio(request: Request) -> dict[str, str]:
    """The posted form, if Twilio signed it; else ``_Refused``."""
    params = await read_form(request)
    url = public_url_of(request)
    if not webhook_signature(request).valid(url, params, request.headers.get(SIGNATURE_HEADER, "")):
        client = request.client.host if request.client else "unknown"
        log.warning("refused a phone webhook without a valid Twilio signature from %s", client)
        record(
            "webhook_refused", "refused", target="twilio", request=request, reason="bad signature"
        )
        raise _Refused
    return params


def _grant(
    request: HTTPConnection, token: str, *, expired_ok: bool = False
) -> LinkGrant | Response:
    """The call's grant, or what the caller hears instead (an expired question)."""
    try:
        grant = signer_of(request).verify(token)
    except LinkRefused as exc:
        if exc.kind == "expired" and exc.grant is not None:
            if expired_ok:
                grant = exc.grant
            else:
                return _goodbye("Sorry, this question closed at its deadline.")
        else:
            log.warning("refused a phone webhook: its token is not one of ours")
            record("link_refused", "refused", request=request, reason="forged", link="call")
            raise _Refused from None
    if grant.channel != "phone" or grant.stage not in {s.value for s in CALLED_STAGES}:
        log.warning("refused a phone webhook: its token is not a call's")
        record("link_refused", "refused", request=request, reason="not a call's", link="call")
        raise _Refused
    return grant


def relay_grant(conn: HTTPConnection, token: str) -> LinkGrant | None:
    """The call's grant, for its conversation's WebSocket; None: refused (and logged), or
    its question closed at its deadline."""
    try:
        found = _grant(conn, token)
    except _Refused:
        return None
    return found if isinstance(found, LinkGrant) else None


def _refused() -> Response:
    return PlainTextResponse("refused: not a valid request from Twilio", status_code=403)


@dataclass(frozen=True)
class OpenCall:
    """A call's question, open: the request, and the language the call speaks."""

    state: RequestState
    language: str


@dataclass(frozen=True)
class Closed:
    """A call's question that takes no answer: what the caller hears, in the call's
    language."""

    sentences: tuple[str, ...]
    language: str = DEFAULT_LANGUAGE


async def _open(request: Request, grant: LinkGrant) -> OpenCall | Response:
    """The call's open question; else what the caller hears."""
    found = await open_question(request, grant)
    if isinstance(found, Closed):
        return _goodbye(*found.sentences, language=found.language)
    return found


async def open_question(conn: HTTPConnection, grant: LinkGrant) -> OpenCall | Closed:
    """The request and the owner's language, while the call's question is open and the
    call has not answered it; else the sentences that tell the caller why not."""
    # An answer this call recorded is said so even when the request cannot be read (in
    # English then: the owner's language is read with it).
    used = await LinkUses(db_of(conn)).find(grant.link_id) is not None
    try:
        state = await service.get_request(client_of(conn), grant.request_id)
    except service.RequestNotFound:
        return Closed((ENGLISH.already_recorded if used else ENGLISH.not_found,))
    except (RPCError, WorkflowQueryFailedError):
        log.exception("a call could not read request %s", grant.request_id)
        return Closed((ENGLISH.already_recorded if used else ENGLISH.cannot_take,))
    language = await owner_language(conn, state)
    words = phrases(language)
    if used:
        return Closed((words.already_recorded,), language)
    stage = Stage(grant.stage)
    question = state.latest(stage, grant.round)
    current = state.question
    if current is not None and (current.stage, current.round) == (stage, grant.round):
        return OpenCall(state, language)
    if words is not ENGLISH:
        # Who answered and the request's state are said in the desk's words: a table's
        # language says what they mean for the caller.
        answered = question is not None and question.answer is not None
        return Closed((words.answered_first if answered else words.moved_on,), language)
    if question is not None and question.answer is not None:
        first = answered_by(question.answer, zone_of(state), outsider=True, spoken=True)
        return Closed((f"This was {first}.",), language)
    return Closed((f"This question is closed: the request is now {state.status.words}.",), language)


def _count(request: Request, name: str, default: int) -> int:
    count = whole_number(request.query_params.get(name, ""), 99)
    return default if count is None else count


def _ask(
    request: Request, token: str, say: str, *, misses: int, plays: int, language: str
) -> Response:
    """Say ``say`` and listen for a key or a few words, in the call's ``language``."""
    urls = call_urls(settings_of(request).resolved_public_url, token)
    gather = Gather(
        input="dtmf speech",
        num_digits=1,
        action=f"{urls.gather}?misses={misses}&plays={plays}",
        method="POST",
        timeout=6,
        speech_timeout="auto",
        action_on_empty_result=True,
        **_spoken(language),
    )
    gather.say(say, **_spoken(language))
    response = VoiceResponse()
    response.append(gather)
    return _twiml(response)


@router.post(CALLS_PATH + "/{token}")
async def call_answered(request: Request, token: str) -> Response:
    """The callee picked up: what the question is, and how to answer."""
    try:
        params = await _from_twilio(request)
        found = _grant(request, token)
    except _Refused:
        return _refused()
    # Picked up, whatever the callee hears next: the call's state shows it.
    if sid := params.get("CallSid", "")[:64]:
        await Outbox(db_of(request)).call_answered(sid)
    if isinstance(found, Response):
        return found
    call = await _open(request, found)
    if isinstance(call, Response):
        return call
    if conversation_on(settings_of(request)):
        return _converse(request, token, call.language)
    script = call_script(call.state, Stage(found.stage), phrases(call.language).script)
    return _ask(request, token, script.full, misses=0, plays=1, language=call.language)


async def owner_language(conn: HTTPConnection, state: RequestState) -> str:
    """The language the owner's call speaks, from the directory as the call is made (the
    request's state does not carry it): the desk's own without a property on file."""
    if state.premises is None:
        return DEFAULT_LANGUAGE
    return await Directory(db_of(conn)).owner_language(state.premises.owner_id)


def _converse(request: Request, token: str, language: str) -> Response:
    """Hand the call to Twilio's ConversationRelay, which opens our WebSocket, speaking and
    listening in the owner's ``language``; when the conversation ends (or fails) Twilio
    asks ``relay-ended`` what comes next."""
    public = settings_of(request).resolved_public_url
    connect = Connect(action=f"{call_urls(public, token).voice}/relay-ended", method="POST")
    relay = connect.conversation_relay(
        url=relay_url(public, token),
        dtmf_detection=True,
        interruptible="any",
        # A key works at any moment: Twilio's default holds back what the caller says or
        # presses while the desk is speaking.
        report_input_during_agent_speech="any",
        language=language,
        tts_language=language,
        transcription_language=language,
    )
    # Each language the call may switch to is declared, as ConversationRelay asks; each
    # takes Twilio's default voice and transcription for it.
    for code in call_languages(language):
        relay.language(code=code)
    response = VoiceResponse()
    response.append(connect)
    return _twiml(response)


@router.post(CALLS_PATH + "/{token}/relay-ended")
async def relay_ended(request: Request, token: str) -> Response:
    """The conversation is over: its last words, or, when it failed or the process that
    held it stopped, the question asked as the key-press call asks it, while it is open."""
    try:
        params = await _from_twilio(request)
        found = _grant(request, token)
    except _Refused:
        return _refused()
    if isinstance(found, Response):
        return found
    handoff = Handoff.read(params.get("HandoffData", ""))
    if handoff is not None and not handoff.fallback:
        goodbye = (handoff.goodbye,) if handoff.goodbye else ()
        return _goodbye(*goodbye, language=handoff.language)
    call = await _open(request, found)
    if isinstance(call, Response):
        return call
    # The language the conversation ended in: the owner may have asked for another.
    language = handoff.language if handoff is not None else call.language
    words = phrases(language)
    script = call_script(call.state, Stage(found.stage), words.script)
    sorry = handoff.goodbye if handoff is not None else words.cut_off
    return _ask(
        request,
        token,
        f"{sorry} {words.finish_with_keys} {script.question} {words.keys}",
        misses=0,
        plays=1,
        language=language,
    )


@router.post(CALLS_PATH + "/{token}/gather")
async def call_gathered(request: Request, token: str) -> Response:
    """What the callee pressed or said."""
    try:
        params = await _from_twilio(request)
        found = _grant(request, token)
    except _Refused:
        return _refused()
    # Read only now: the signature covers them, so they are the ones we wrote.
    misses = _count(request, "misses", 0)
    plays = _count(request, "plays", 1)
    if isinstance(found, Response):
        return found
    grant = found
    call = await _open(request, grant)
    if isinstance(call, Response):
        return call
    state, language = call.state, call.language
    words = phrases(language)
    stage = Stage(grant.stage)
    script = call_script(state, stage, words.script)
    digits = params.get("Digits", "").strip()
    speech = params.get("SpeechResult", "").strip()
    if digits:
        intent: SpokenIntent = _KEYS.get(digits[:1], "unclear")
        heard = f"pressed {digits[:1]}"
    elif speech:
        intent = await _understand(request, grant, script, speech)
        heard = f'said "{speech[:300]}"'
    else:
        intent, heard = "unclear", ""
    if intent == "repeat":
        if plays < MAX_PLAYS:
            return _ask(
                request, token, script.full, misses=misses, plays=plays + 1, language=language
            )
        return _ask(
            request,
            token,
            f"{words.last_time} {script.question} {script.keys}",
            misses=misses,
            plays=plays,
            language=language,
        )
    if intent in ("approve", "decline"):
        return await _record(request, grant, call, script, intent == "approve", heard)
    if misses >= MAX_MISSES:
        return _goodbye(words.not_understood, other_way(state, words), language=language)
    opening = words.did_not_catch if heard else words.did_not_hear
    return _ask(
        request,
        token,
        f"{opening} {script.question} {script.keys}",
        misses=misses + 1,
        plays=plays,
        language=language,
    )


async def _understand(
    request: Request, grant: LinkGrant, script: CallScript, speech: str
) -> SpokenIntent:
    task = _spoken_answers(request)
    try:
        result = await asyncio.wait_for(
            task.understand(script.question, speech, f"maintenance-{grant.request_id}"),
            SPEECH_WAIT,
        )
    except TimeoutError:
        return rules_spoken_answer(speech)
    return result.intent


def _spoken_answers(request: Request) -> SpokenAnswerTask:
    task: SpokenAnswerTask | None = getattr(request.app.state, "spoken_answers", None)
    if task is None:
        task = SpokenAnswerTask(build_provider(settings_of(request)), UsageLog(db_of(request)))
        request.app.state.spoken_answers = task
    return task


async def _record(
    request: Request,
    grant: LinkGrant,
    call: OpenCall,
    script: CallScript,
    approve: bool,
    heard: str,
) -> Response:
    words = phrases(call.language)
    # The note is for staff, on the timeline: in the desk's words.
    note = f"On the phone: {heard}" if heard else ""
    _, sentences = await record_call_answer(
        request, grant, call.state, script, approve, note, words
    )
    return _goodbye(*sentences, language=call.language)


async def record_call_answer(
    conn: HTTPConnection,
    grant: LinkGrant,
    state: RequestState,
    script: CallScript,
    approve: bool,
    note: str,
    words: Phrases = ENGLISH,
) -> tuple[bool, tuple[str, ...]]:
    """Send the call's answer to its request as the email link would: whether it counted,
    and the sentences, in the call's ``words``, that tell the caller what happened."""
    stage = Stage(grant.stage)
    decision = Decision(
        answer_id=grant.link_id,
        actor=_owner(state),
        channel="phone",
        round=grant.round,
        note=note,
        approve=approve,
    )
    try:
        await service.answer_request(
            client_of(conn), grant.request_id, stage, decision, wait=ANSWER_WAIT
        )
    except service.AnswerRefused as exc:
        # The refusal's reason is written for staff (a request id, its state): a caller
        # hears what it means for them.
        log.info("a phone answer for %s was refused: %s", grant.request_id, exc.reason)
        return False, refused_words(exc, state, words)
    except service.RequestNotFound:
        return False, (words.not_found,)
    except (RPCError, WorkflowQueryFailedError):
        log.exception("a phone answer for %s could not reach its request", grant.request_id)
        return False, (words.could_not, other_way(state, words))
    await LinkUses(db_of(conn)).record(grant, "approve" if approve else "decline")
    verb = words.approve if approve else words.decline
    return True, (words.recorded.format(verb=verb, decision=script.decision),)


def refused_words(
    exc: service.AnswerRefused, state: RequestState, words: Phrases = ENGLISH
) -> tuple[str, ...]:
    """What a caller hears when the request would not take their answer: plain sentences
    in the call's ``words``, never the refusal's reason, which names the request and its
    state for staff."""
    if exc.already_answered:
        return (words.answered_first,)
    if exc.kind == NOT_WAITING:
        return (words.moved_on,)
    if exc.invalid:
        return (words.does_not_fit,)
    return (words.could_not, other_way(state, words))


def _owner(state: RequestState) -> str:
    return state.premises.owner_name if state.premises else "the owner"


def other_way(state: RequestState, words: Phrases = ENGLISH) -> str:
    """How the owner can still answer when the call recorded nothing."""
    question = state.question
    emailed = question is not None and any(a.channel == "email" for a in question.asked)
    return words.link_in_email if emailed else words.will_email


@router.post(CALLS_PATH + "/{token}/status")
async def call_status(request: Request, token: str) -> Response:
    """How the call ended (Twilio's status callback): kept on the request's timeline."""
    try:
        params = await _from_twilio(request)
        found = _grant(request, token, expired_ok=True)
    except _Refused:
        return _refused()
    if isinstance(found, Response):
        return found
    outcome = _FINAL_OUTCOMES.get(params.get("CallStatus", ""))
    if outcome is None:
        return Response(status_code=204)  # ringing, answered: only the end is kept
    try:
        seconds = int(params.get("CallDuration", "0") or 0)
    except ValueError:
        seconds = 0
    event = CallEnded(
        call_id=found.link_id,
        stage=Stage(found.stage),
        round=found.round,
        outcome=outcome,
        provider_id=params.get("CallSid", "")[:64],
        seconds=max(0, seconds),
    )
    # The outbox keeps it whatever the request's state; the timeline, while the request runs
    # (an answered invoice is paid and closed before the caller has hung up).
    await Outbox(db_of(request)).call_ended(event.provider_id, outcome)
    try:
        await service.call_ended(client_of(request), found.request_id, event)
    except RPCError:
        # Twilio retries a callback that fails, and the timeline can do without it.
        log.warning("call status for %s could not reach its request", found.request_id)
        return PlainTextResponse("try again later", status_code=503)
    return Response(status_code=204)


def first_answer(state: RequestState, call: OutboxEntry) -> FirstAnswer | None:
    """The answer the call's question got on another channel, if it got one: the call's
    key names its question (``…:call:<stage>:<round>``)."""
    parts = call.key.rsplit(":", 3)
    if len(parts) != 4 or parts[1] != "call" or not parts[3].isdigit():
        return None
    try:
        stage = Stage(parts[2])
    except ValueError:
        return None
    question = state.latest(stage, int(parts[3]))
    answer = question.answer if question is not None else None
    if answer is None or answer.channel == "phone":
        return None
    how = CHANNEL_WORDS.get(answer.channel, answer.channel)
    return FirstAnswer(who=answer.actor, how=how, what=answer.what, at=answer.at)


def call_views_of(state: RequestState, entries: list[OutboxEntry]) -> dict[int, CallView]:
    """The request's calls among ``entries``, each as it stands (for the request's page)."""
    return {
        entry.id: call_view(entry, first_answer(state, entry))
        for entry in entries
        if entry.channel == "phone"
    }


async def first_answers(request: Request, calls: list[OutboxEntry]) -> dict[int, FirstAnswer]:
    """Which of ``calls`` (any desk's) this desk's requests answered another way first; a
    request that cannot be read now is left out (its calls show what the outbox knows)."""
    ours = [call for call in calls if call.channel == "phone" and call.reference]
    prefix = request_workflow_id("")
    references = sorted({call.reference for call in ours if call.reference.startswith(prefix)})

    async def read(reference: str) -> RequestState | None:
        try:
            return await service.get_request(client_of(request), request_id_of(reference))
        except (service.RequestNotFound, RPCError, WorkflowQueryFailedError):
            return None

    states = dict(zip(references, await asyncio.gather(*map(read, references)), strict=True))
    found: dict[int, FirstAnswer] = {}
    for call in ours:
        state = states.get(call.reference)
        first = first_answer(state, call) if state is not None else None
        if first is not None:
            found[call.id] = first
    return found
