"""The owner's call as a conversation (Twilio's ConversationRelay): the request's facts
(``facts``), the conversation and what it may record (``engine``), who speaks for the desk
(``brains``), and the WebSocket Twilio talks to (``relay``)."""
