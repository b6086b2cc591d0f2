"""The dev phone reads the language a call speaks from its TwiML, so its page marks the
words with it (a screen reader, or the browser's voice, then says them in that language)."""

from __future__ import annotations

from opsdesk.notify.devphone import _read


def test_the_dev_phone_reads_the_language_the_call_speaks() -> None:
    keypad = (
        '<Response><Gather action="https://desk.example/g" language="es-US">'
        '<Say language="es-US">¿Aprueba la cotización?</Say></Gather></Response>'
    )
    turn = _read(keypad, 200)
    assert (turn.language, turn.said) == ("es-US", ["¿Aprueba la cotización?"])
    # The desk's own language keeps Twilio's defaults, and names none.
    english = "<Response><Say>Thank you, goodbye.</Say><Hangup/></Response>"
    assert _read(english, 200).language == "en-US"
    relay = (
        '<Response><Connect><ConversationRelay url="wss://desk.example/r" language="fr-CA">'
        '<Language code="fr-CA" /></ConversationRelay></Connect></Response>'
    )
    assert _read(relay, 200).language == "fr-CA"
