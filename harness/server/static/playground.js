// The rth playground: the browser flow of the OpenAI Realtime WebRTC guide, against the stand-in
// that served this page (same origin, so the API base is "/v1").
//
// Start: an ephemeral key from POST /v1/realtime/client_secrets (the step an app's backend does
// with its real key), the microphone, an RTCPeerConnection with the mic track and a data channel,
// the SDP offer posted as multipart (sdp + session) to /v1/realtime/calls with the ek_ key, the
// answer applied, session.update once the channel opens. Push-to-talk, as the guide: Stop commits
// the input audio buffer and asks for a response, stops the microphone at once, and hangs up (data
// channel, tracks, peer connection) once the response is done and its audio has played; pressing
// it again hangs up at once. No key or ek_ value is ever written to the page or the console.
"use strict";

const API = "/v1";
const MODEL = "gpt-realtime";
const MAX_LOG_ENTRIES = 500;
// output_audio_buffer.stopped means the server sent the last audio; the browser's jitter buffer
// still holds a little of it, so the call stays up this long after.
const PLAYOUT_GRACE_MS = 400;
const METER_INTERVAL_MS = 50;

const $ = (id) => document.getElementById(id);
let call = null; // the live call, or null

function sessionConfig(voice) {
  // The guide's session.update: push-to-talk (no turn detection), input transcription on.
  return {
    type: "realtime",
    instructions: "You are a helpful assistant that provides concise answers to user queries.",
    audio: {
      input: {
        turn_detection: null,
        transcription: { model: "gpt-4o-mini-transcribe", language: "en" },
      },
      output: { format: { type: "audio/pcm", rate: 24000 }, voice },
    },
  };
}

class ApiFailure extends Error {}

async function apiError(response, what) {
  let detail = `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) detail = `${body.error.message} (HTTP ${response.status})`;
  } catch (_) {
    // not the API's JSON error shape: the status is all there is
  }
  return new ApiFailure(`${what} failed: ${detail}`);
}

async function createClientSecret(apiKey, session) {
  const response = await fetch(`${API}/realtime/client_secrets`, {
    method: "POST",
    headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ expires_after: { anchor: "created_at", seconds: 600 }, session: { ...session, model: MODEL } }),
  });
  if (!response.ok) throw await apiError(response, "Creating the ephemeral key");
  const secret = await response.json();
  return secret.value;
}

async function postOffer(ephemeralKey, sdp) {
  const form = new FormData();
  form.set("sdp", sdp);
  form.set("session", JSON.stringify({ type: "realtime", model: MODEL }));
  const response = await fetch(`${API}/realtime/calls`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ephemeralKey}` },
    body: form,
  });
  if (!response.ok) throw await apiError(response, "Posting the SDP offer");
  return { sdp: await response.text(), location: response.headers.get("Location") };
}

class Call {
  constructor() {
    this.started = performance.now();
    this.closed = false;
    this.pc = null;
    this.channel = null;
    this.mic = null;
    this.audioContext = null;
    this.meters = [];
    this.userItems = new Map(); // item_id -> paragraph
    this.assistantItems = new Map();
    this.awaitingReply = false;
    this.responseDone = false;
    this.audioPlaying = false;
    this.hangupTimer = null;
  }

  async connect(apiKey, voice) {
    if (!window.isSecureContext) {
      throw new Error(
        "Browsers give the microphone only to pages on localhost, 127.0.0.1 or HTTPS: open this page at 127.0.0.1 (same port).",
      );
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("This browser cannot capture audio (navigator.mediaDevices.getUserMedia is missing).");
    }
    const session = sessionConfig(voice);
    const ephemeralKey = await createClientSecret(apiKey, session);
    log("info", "ephemeral key created");
    if (this.closed) return;
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
        video: false,
      });
    } catch (error) {
      throw new Error(`The microphone is not available: ${error.message || error.name}`);
    }
    if (this.closed) return this.cleanUp();
    const track = this.mic.getAudioTracks()[0];
    if (!track) throw new Error("The microphone gave no audio track.");
    this.audioContext = new AudioContext();
    this.meter(this.mic, $("mic-level"));

    const pc = (this.pc = new RTCPeerConnection());
    pc.ontrack = (event) => {
      const audio = $("reply-audio") || document.body.appendChild(Object.assign(new Audio(), { id: "reply-audio" }));
      audio.autoplay = true;
      audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      this.meter(audio.srcObject, $("reply-level"));
    };
    pc.onconnectionstatechange = () => {
      log("info", `connection ${pc.connectionState}`);
      if (pc.connectionState === "failed") {
        this.fail(
          new Error(
            "The WebRTC connection failed (ICE or DTLS). On a machine whose only network interface is loopback, " +
              "start Chromium with --allow-loopback-in-peer-connection (see docs/standin.md, The playground).",
          ),
        );
      }
    };
    pc.addTrack(track, this.mic);

    const channel = (this.channel = pc.createDataChannel("oai-events"));
    channel.onopen = () => {
      this.send({ type: "session.update", session });
      setState("listening", "Listening: speak, then press Stop");
    };
    channel.onmessage = (event) => this.receive(event.data);
    channel.onclose = () => {
      if (!this.closed) this.fail(new Error("The server closed the data channel."));
    };

    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const answer = await postOffer(ephemeralKey, offer.sdp);
    log("info", `call ${answer.location || "created"}`);
    if (this.closed) return hangUpUnconnected(ephemeralKey, answer.location);
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  }

  meter(stream, element) {
    const analyser = this.audioContext.createAnalyser();
    analyser.fftSize = 1024;
    this.audioContext.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let peak = 0;
      for (const s of samples) peak = Math.max(peak, Math.abs(s));
      element.value = peak;
    }, METER_INTERVAL_MS);
    this.meters.push({ timer, element });
  }

  send(event) {
    if (!this.channel || this.channel.readyState !== "open") return false;
    this.channel.send(JSON.stringify(event));
    log("sent", event.type, event);
    return true;
  }

  receive(text) {
    let event;
    try {
      event = JSON.parse(text);
    } catch (_) {
      return showError("The server sent a data-channel message that is not JSON.");
    }
    log("received", event.type, event);
    switch (event.type) {
      case "conversation.item.input_audio_transcription.delta":
        return appendText(this.userItems, "user-transcript", event.item_id, event.delta);
      case "conversation.item.input_audio_transcription.completed":
        return setText(this.userItems, "user-transcript", event.item_id, event.transcript);
      case "conversation.item.input_audio_transcription.failed":
        return showError(`Transcription failed: ${(event.error && event.error.message) || "no reason given"}`);
      case "response.output_audio_transcript.delta":
      case "response.output_text.delta":
        return appendText(this.assistantItems, "assistant-transcript", event.item_id, event.delta);
      case "response.output_audio_transcript.done":
        return setText(this.assistantItems, "assistant-transcript", event.item_id, event.transcript);
      case "response.output_text.done":
        return setText(this.assistantItems, "assistant-transcript", event.item_id, event.text);
      case "output_audio_buffer.started":
        this.audioPlaying = true;
        return;
      case "output_audio_buffer.stopped":
      case "output_audio_buffer.cleared":
        this.audioPlaying = false;
        return this.hangUpWhenAnswered();
      case "response.done":
        return this.onResponseDone(event.response || {});
      case "error":
        return showError(`Server error: ${(event.error && event.error.message) || "no message"}`);
      default:
        return;
    }
  }

  onResponseDone(response) {
    if (response.status === "failed") {
      const error = response.status_details && response.status_details.error;
      showError(`The response failed: ${(error && error.message) || "no reason given"}`);
    }
    this.responseDone = true;
    this.hangUpWhenAnswered();
  }

  stopSpeaking() {
    // Push-to-talk's end of turn; the microphone is released now, the call when the reply is over.
    if (!this.channel || this.channel.readyState !== "open" || this.awaitingReply) return this.hangUp();
    this.awaitingReply = true;
    this.send({ type: "input_audio_buffer.commit" });
    this.send({ type: "response.create" });
    this.stopMicrophone();
    setState("answering", "Answering (Stop hangs up now)");
  }

  hangUpWhenAnswered() {
    if (!this.awaitingReply || !this.responseDone || this.audioPlaying || this.hangupTimer !== null) return;
    this.hangupTimer = setTimeout(() => this.hangUp(), PLAYOUT_GRACE_MS);
  }

  fail(error) {
    showError(error.message || String(error));
    this.hangUp();
  }

  stopMicrophone() {
    if (this.mic) this.mic.getTracks().forEach((track) => track.stop());
  }

  hangUp() {
    if (this.closed) return;
    this.closed = true;
    this.cleanUp();
    log("info", "hung up");
    if (call === this) call = null;
    setState("idle", "Call ended: Start calls again");
  }

  cleanUp() {
    clearTimeout(this.hangupTimer);
    this.stopMicrophone();
    for (const { timer, element } of this.meters) {
      clearInterval(timer);
      element.value = 0;
    }
    if (this.channel) this.channel.close();
    if (this.pc) {
      this.pc.getSenders().forEach((sender) => sender.track && sender.track.stop());
      this.pc.close();
    }
    const audio = $("reply-audio");
    if (audio) audio.srcObject = null;
    if (this.audioContext) this.audioContext.close();
  }
}

function hangUpUnconnected(ephemeralKey, location) {
  // Stop came while the offer was in flight: the server holds a call that no peer will ever
  // connect to, so end it the way a backend would (calls.hangup).
  if (!location) return;
  fetch(`${location}/hangup`, { method: "POST", headers: { Authorization: `Bearer ${ephemeralKey}` } }).catch(() => {});
}

function paragraph(items, panelId, itemId) {
  let p = items.get(itemId);
  if (!p) {
    p = document.createElement("p");
    p.dataset.itemId = itemId || "";
    items.set(itemId, p);
    $(panelId).appendChild(p);
  }
  return p;
}

function appendText(items, panelId, itemId, text) {
  paragraph(items, panelId, itemId).textContent += text || "";
}

function setText(items, panelId, itemId, text) {
  paragraph(items, panelId, itemId).textContent = text || "";
}

function setState(state, label) {
  document.body.dataset.state = state;
  $("status").textContent = label;
  $("start").disabled = state !== "idle";
  $("stop").disabled = state === "idle";
  $("stop").textContent = state === "answering" ? "Hang up" : "Stop";
  for (const field of document.querySelectorAll("#settings input, #settings select")) {
    field.disabled = state !== "idle";
  }
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function log(direction, type, event) {
  const list = $("event-log");
  const entry = document.createElement("li");
  entry.className = direction;
  entry.dataset.type = type;
  const seconds = call ? ((performance.now() - call.started) / 1000).toFixed(3) : "";
  const arrow = { sent: "\u2192", received: "\u2190", info: "\u00b7" }[direction];
  const summary = `${seconds.padStart(8)} ${arrow} ${type}`;
  if (event) {
    const details = document.createElement("details");
    details.appendChild(Object.assign(document.createElement("summary"), { textContent: summary }));
    details.appendChild(Object.assign(document.createElement("pre"), { textContent: JSON.stringify(event, null, 2) }));
    entry.appendChild(details);
  } else {
    entry.textContent = summary;
  }
  list.appendChild(entry);
  while (list.childElementCount > MAX_LOG_ENTRIES) list.firstElementChild.remove();
  entry.scrollIntoView({ block: "nearest" });
}

async function start() {
  $("error").hidden = true;
  for (const id of ["user-transcript", "assistant-transcript", "event-log"]) $(id).replaceChildren();
  const current = (call = new Call());
  setState("connecting", "Connecting");
  try {
    await current.connect($("api-key").value.trim(), $("voice").value);
  } catch (error) {
    if (!current.closed) current.fail(error); // after a hang-up, a closed connection's errors are expected
  }
}

function stop() {
  if (call) call.stopSpeaking();
}

document.addEventListener("DOMContentLoaded", () => {
  $("start").addEventListener("click", start);
  $("stop").addEventListener("click", stop);
  $("settings").addEventListener("submit", (event) => event.preventDefault());
  window.addEventListener("pagehide", () => call && call.hangUp());
});
