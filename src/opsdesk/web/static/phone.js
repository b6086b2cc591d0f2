// The dev phone's call screen: plays Twilio ConversationRelay's part against the call's real
// WebSocket (/phone/relay/<token>). It sends what Twilio sends (setup, prompt, dtmf,
// interrupt) and shows the desk's text tokens as they arrive. Where the browser can, it
// reads the desk's words aloud (speechSynthesis) and hears the person (SpeechRecognition);
// elsewhere, typing stands in for both. The handshake is signed by the server, offered as a
// subprotocol (a browser cannot set X-Twilio-Signature): see opsdesk/notify/devphone.py.
"use strict";

(() => {
  const screen = document.querySelector("[data-call-screen]");
  if (!screen) return;

  const $ = (selector) => screen.querySelector(selector);
  const chat = $("[data-chat]");
  const announce = $("[data-announce]");
  const lineState = $("[data-line-state]");
  const controls = $("[data-controls]");
  const wordsForm = $("[data-words]");
  const input = wordsForm.querySelector("input");
  const listenButton = $("[data-listen]");
  const hear = $("[data-hear]");
  const after = $("[data-after]");

  // Feature detection: headless browsers, Firefox and some Chromium builds lack these.
  const voice =
    window.speechSynthesis && typeof window.SpeechSynthesisUtterance === "function"
      ? window.speechSynthesis
      : null;
  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition || null;
  // The owner's language, as the call's <ConversationRelay> names it; the desk may switch it.
  let language = screen.dataset.language || "en-US";

  let socket = null;
  let over = false; // the conversation ended: the desk's end, a dropped line, or a hang-up
  let desk = null; // the desk's turn on screen
  let dropping = false; // a cut turn's words still on their way are not heard
  let listening = null; // the SpeechRecognition in progress

  // -- what the person sees ---------------------------------------------------------------

  function show(text) {
    lineState.textContent = text;
  }

  function yourTurn() {
    if (over) return;
    show(deskSpeaking() ? "The desk is speaking…" : "Your turn: type, speak or press a key.");
  }

  function bubble(who, text) {
    const item = document.createElement("li");
    item.className = who;
    const name = document.createElement("span");
    name.className = "who";
    name.textContent = who === "desk" ? "Ops Desk" : "You";
    const words = document.createElement("p");
    words.textContent = text;
    item.append(name, words);
    chat.append(item);
    item.scrollIntoView({ block: "nearest" });
    return { item, words };
  }

  // -- the desk's turns ---------------------------------------------------------------------

  function newTurn() {
    const { item, words } = bubble("desk", "");
    item.setAttribute("aria-busy", "true");
    // queued: characters handed to the voice; spokenTo: how far the voice has got.
    return { item, words, text: "", done: false, cut: false, queued: 0, voicing: 0, spokenTo: 0,
      voiced: false, startedAt: Date.now() };
  }

  function deskSpeaking() {
    return desk !== null && !desk.cut && (!desk.done || desk.voicing > 0);
  }

  function heardToken(token, last) {
    if (dropping) return;
    if (desk === null || desk.done || desk.cut) {
      if (!token) return; // a turn that said nothing (it recorded the answer): the end follows
      desk = newTurn();
    }
    desk.text += token;
    desk.words.textContent = desk.text;
    if (last) finishTurn(desk);
    else speakSentences(desk, false);
    yourTurn();
  }

  function finishTurn(turn) {
    turn.done = true;
    turn.item.removeAttribute("aria-busy");
    announce.textContent = turn.text;
    speakSentences(turn, true);
  }

  // The voice reads whole sentences as they complete, so a long answer starts at once.
  function speakSentences(turn, all) {
    if (!voice || !hear.checked || turn.cut) return;
    const rest = turn.text.slice(turn.queued);
    const end = all ? rest.length : lastSentenceEnd(rest);
    if (end <= 0 || !rest.slice(0, end).trim()) return;
    const offset = turn.queued;
    turn.queued += end;
    const utterance = new SpeechSynthesisUtterance(rest.slice(0, end));
    utterance.lang = language;
    let started = false;
    utterance.onstart = () => {
      started = true;
      turn.voiced = true;
      turn.voicing += 1;
      yourTurn();
    };
    utterance.onboundary = (event) => {
      const word = turn.text.slice(offset + event.charIndex).match(/^\S*/)[0];
      turn.spokenTo = offset + event.charIndex + (event.charLength || word.length);
    };
    const stopped = (event) => {
      if (started) turn.voicing -= 1;
      started = false;
      if (event.type === "end" && !turn.cut) turn.spokenTo = offset + end;
      if (event.error === "not-allowed") {
        // Chromium speaks only once the person has used the page: a click or a key.
        hear.checked = false;
        show("Your browser lets the page speak only after you click in it: tick “Read the desk’s words aloud” to hear it.");
        return;
      }
      yourTurn();
    };
    utterance.onend = stopped;
    utterance.onerror = stopped;
    voice.speak(utterance);
  }

  function lastSentenceEnd(text) {
    let end = 0;
    for (const match of text.matchAll(/[.?!](\s|$)/g)) end = match.index + 1;
    return end;
  }

  // Speaking, typing or pressing a key over the desk: ConversationRelay stops the voice at
  // once and tells the app how much of the turn the caller heard.
  function interrupt(why = "you spoke over the desk") {
    if (!deskSpeaking()) return;
    const turn = desk;
    const heard = turn.voiced ? turn.text.slice(0, turn.spokenTo) : turn.text;
    stopTurn(turn, why);
    send({
      type: "interrupt",
      utteranceUntilInterrupt: heard.trim(),
      durationUntilInterruptMs: Date.now() - turn.startedAt,
    });
  }

  function stopTurn(turn, why) {
    turn.cut = true;
    dropping = !turn.done;
    if (dropping) setTimeout(() => (dropping = false), 1000); // a cut turn's last words in flight
    turn.done = true;
    turn.item.removeAttribute("aria-busy");
    turn.item.classList.add("cut");
    turn.item.dataset.cut = "";
    const note = document.createElement("span");
    note.className = "cut-note";
    note.textContent = `(stopped: ${why})`;
    turn.item.append(note);
    if (voice) voice.cancel();
    yourTurn();
  }

  // -- the person's turns -------------------------------------------------------------------

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function say(text) {
    if (over || !text) return;
    interrupt();
    dropping = false;
    bubble("owner", text);
    send({ type: "prompt", voicePrompt: text, lang: language, last: true });
  }

  function press(key) {
    if (over) return;
    // A key cuts the desk's voice too, and the desk hears what was said before it.
    interrupt(`you pressed ${key}`);
    dropping = false;
    bubble("owner", `You pressed ${key}`);
    send({ type: "dtmf", digit: key });
  }

  wordsForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    input.value = "";
    say(text);
  });
  // The first key typed while the desk speaks is the caller starting to talk over it.
  input.addEventListener("input", () => {
    if (input.value.trim()) interrupt();
  });
  $("[data-keypad]").addEventListener("click", (event) => {
    const key = event.target.closest("[data-key]");
    if (key) press(key.dataset.key);
  });

  function listen() {
    if (listening) {
      listening.stop();
      return;
    }
    const recognition = new Recognition();
    recognition.lang = language;
    recognition.interimResults = true;
    recognition.continuous = false;
    let final = "";
    let problem = "";
    recognition.onspeechstart = () => interrupt();
    recognition.onresult = (event) => {
      interrupt();
      let interim = "";
      for (let i = event.resultIndex; i < event.results.length; i += 1) {
        const result = event.results[i];
        if (result.isFinal) final += result[0].transcript;
        else interim += result[0].transcript;
      }
      input.value = (final + interim).trim();
    };
    recognition.onerror = (event) => {
      if (event.error === "no-speech" || event.error === "aborted") return;
      // Chromium builds without Google's speech service fail with "network".
      final = "";
      const why = event.error === "not-allowed" || event.error === "service-not-allowed"
        ? "The browser may not use the microphone here"
        : "The browser could not listen";
      problem = `${why}: type your words instead.`;
    };
    recognition.onend = () => {
      listening = null;
      listenButton.setAttribute("aria-pressed", "false");
      listenButton.textContent = "Speak";
      input.value = "";
      say(final.trim());
      if (problem) show(problem);
      else yourTurn();
    };
    listening = recognition;
    listenButton.setAttribute("aria-pressed", "true");
    listenButton.textContent = "Stop listening";
    show("Listening: speak now.");
    recognition.start();
  }

  // -- the line -------------------------------------------------------------------------------

  function randomHex(bytes) {
    return [...crypto.getRandomValues(new Uint8Array(bytes))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
  }

  function setup() {
    const data = screen.dataset;
    return {
      type: "setup",
      sessionId: "VX" + randomHex(16),
      callSid: data.callSid,
      accountSid: "AC" + "0".repeat(32),
      from: data.from,
      to: data.to,
      direction: "outbound-api",
      callType: "PSTN",
      callStatus: "IN-PROGRESS",
      customParameters: {},
    };
  }

  function connect() {
    try {
      socket = new WebSocket(screen.dataset.relay, screen.dataset.protocols.split(" "));
    } catch (e) {
      show("The call could not connect: reload the page to try again.");
      return;
    }
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify(setup()));
      controls.hidden = false;
      show("Connected: the desk is about to speak.");
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (message.type === "text") heardToken(String(message.token || ""), Boolean(message.last));
      else if (message.type === "end") ended(String(message.handoffData || ""));
      else if (message.type === "language" && message.ttsLanguage) {
        // The desk switched language, as it asks ConversationRelay to: speak and hear it.
        language = String(message.ttsLanguage);
      }
    });
    socket.addEventListener("close", () => {
      if (!over) ended("");
    });
  }

  // The conversation is over: Twilio then asks the call's relay-ended webhook what comes
  // next, and the server posts it for us, signed.
  async function ended(handoff) {
    if (over) return;
    over = true;
    if (listening) listening.abort();
    if (desk && !desk.done) finishTurn(desk);
    if (socket) socket.close();
    controls.hidden = true;
    show(handoff ? "The desk is ending the call…" : "The line dropped…");
    const body = new URLSearchParams({ handoff });
    let answer = null;
    try {
      const response = await fetch(screen.dataset.relayEnded, {
        method: "POST",
        headers: { Accept: "application/json" },
        body,
      });
      answer = await response.json().catch(() => null);
      if (!response.ok) {
        const why = answer && answer.error ? answer.error.message : "the server refused";
        return finish(`The call's last step failed: ${why}.`, false);
      }
    } catch (e) {
      return finish("The server could not be reached: reload the page to see the call.", false);
    }
    const said = (answer.said || []).filter(Boolean).join(" ");
    if (said) {
      desk = newTurn();
      desk.text = said;
      desk.words.textContent = said;
      finishTurn(desk);
    }
    if (answer.problem) finish(`The call's webhook answered: ${answer.problem}`, false);
    else if (answer.listening) {
      finish("The conversation stopped, so the desk asks its question with the keypad.", true);
    } else finish("The desk hung up.", false);
  }

  function finish(text, keypad) {
    show(text);
    after.querySelector("[data-keypad-link]").hidden = !keypad;
    after.querySelector("[data-done]").hidden = keypad;
    $("[data-hang-up-form]").hidden = !keypad;
    after.hidden = false;
  }

  $("[data-hang-up-form]").addEventListener("submit", () => {
    // The form goes on to post Twilio's status callback; the line closes first.
    over = true;
    if (listening) listening.abort();
    if (voice) voice.cancel();
    if (socket) socket.close(1000, "hung up");
  });

  if (voice) {
    $("[data-hear-label]").hidden = false;
    hear.addEventListener("change", () => {
      if (!hear.checked) voice.cancel();
      else if (desk && !desk.cut) {
        // A click is what lets the page speak: read the desk's last turn again.
        desk.queued = 0;
        speakSentences(desk, desk.done);
      }
    });
  }
  if (Recognition) {
    listenButton.hidden = false;
    listenButton.addEventListener("click", listen);
    $("[data-speech-note]").textContent =
      "Type, or press Speak and talk. Talking or typing while the desk speaks cuts it off.";
  }
  connect();
})();
