"""The playground in headless Chromium, its microphone playing a fixture: Start, speak, Stop.

One visit (module fixture) against the pytest plugin's stand-in, whose key is random: first Start
with the page's placeholder key (the error is shown, nothing else happens), then with the right
key. The microphone is Chromium's fake device playing a WAV built from a committed fixture: a
lead-in of silence while the call connects, the words, a short tail. Stop is pressed when the file
has played; the page hangs up by itself once the answer has played. tests/support/webrtc_probe.js
watches the page's WebRTC from outside its code: the level of the audio that arrives (its own
AnalyserNode), the ICE candidate pairs, the tracks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import soundfile

from harness.client.audio_source import load_wav
from harness.metrics.wer import score_wer
from harness.protocol import SAMPLE_RATE

if TYPE_CHECKING:
    from harness.pytest_plugin.standin import BackgroundStandIn

FIXTURE = "weather_paris.wav"
WORDS = "What is the weather like in Paris today?"  # what the fixture says
LEAD_IN_S = 1.5  # silence first: the call connects while it plays (~0.4 s on loopback)
TAIL_S = 0.3
# Chromium's fake microphone starts its file when capture starts, some time after the click, and
# then loops it. Stop this long after the file's length from the click: after the speech for a
# capture up to TAIL_S + 0.7 = 1.0 s late, and still in the next loop's silent lead-in.
STOP_AFTER_FILE_S = 0.7
PROBE = Path(__file__).resolve().parents[1] / "support" / "webrtc_probe.js"
PROBE_INTERVAL_S = 0.04  # how often the probe samples the remote track (webrtc_probe.js)
# Assistant audio is there when the level stands this far above the silence the stand-in sends
# between replies (digital zero through Opus here), and at least at -50 dBFS in any case.
ABOVE_SILENCE_DB = 20.0
FLOOR_DBFS = -50.0
MIN_REPLY_AUDIO_S = 0.5
MAX_USER_WER = 0.25
REPLY_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory, audio_fixtures: Path) -> tuple[Path, float]:
    """The fake microphone's WAV (48 kHz 16-bit mono) and its duration in seconds."""
    words = load_wav(audio_fixtures / FIXTURE)
    silence = np.zeros(round(LEAD_IN_S * SAMPLE_RATE), dtype=np.int16)
    samples = np.concatenate([silence, words, silence[: round(TAIL_S * SAMPLE_RATE)]])
    path = tmp_path_factory.mktemp("microphone") / "speech.wav"
    soundfile.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
    return path, len(samples) / SAMPLE_RATE


def page_facts(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const $ = (id) => document.getElementById(id); return {
              state: document.body.dataset.state,
              user: $('user-transcript').innerText,
              assistant: $('assistant-transcript').innerText,
              error: $('error').hidden ? null : $('error').innerText,
              startEnabled: !$('start').disabled,
              log: [...document.querySelectorAll('#event-log li')].map(li => [li.className, li.dataset.type]),
              html: document.documentElement.outerHTML,
              probe: {
                levels: window.__probe.levels, pairs: window.__probe.pairs,
                candidates: window.__probe.candidates,
                peers: window.__probe.peers.map(pc => pc.connectionState),
                micTracks: window.__probe.micTracks.map(t => t.readyState),
              },
            }; }"""
        )
    )


@pytest.fixture(scope="module")
def visit(
    loopback_network: None,
    chromium_page: Callable[..., AbstractContextManager[Any]],
    fake_microphone_args: Callable[[Path], list[str]],
    microphone: tuple[Path, float],
    rth_server: BackgroundStandIn,
) -> dict[str, Any]:
    """The wrong-key attempt and the spoken turn, as the page and the probe saw them (only where
    Chromium's ICE can stay on loopback: see ``loopback_network``)."""
    wav, seconds = microphone
    origin = rth_server.base_url.removesuffix("/v1")
    seen: dict[str, Any] = {"console": [], "requests": [], "calls": []}

    def on_console(message: Any) -> None:
        if message.type == "error":
            seen["console"].append(message.text)

    def on_response(response: Any) -> None:
        if response.url.endswith("/v1/realtime/calls") and response.status == 201:
            seen["calls"].append(response.headers["location"].rsplit("/", 1)[-1])

    with chromium_page(args=fake_microphone_args(wav)) as page:
        page.add_init_script(path=str(PROBE))
        page.on("console", on_console)
        page.on("pageerror", lambda exc: seen["console"].append(f"page error: {exc}"))
        page.on("request", lambda request: seen["requests"].append(request.url))
        page.on("response", on_response)
        page.goto(origin + "/")

        page.click("#start")  # with the placeholder key
        page.wait_for_selector("#error:not([hidden])")
        page.wait_for_selector("body[data-state=idle]")
        seen["wrong_key"] = page_facts(page)
        seen["wrong_key_console"], seen["console"] = seen["console"], []

        page.fill("#api-key", rth_server.api_key)
        clicked = time.monotonic()
        page.click("#start")
        page.wait_for_selector("body[data-state=listening]")
        time.sleep(max(0.0, clicked + seconds + STOP_AFTER_FILE_S - time.monotonic()))  # the file played
        page.click("#stop")
        seen["answering"] = page.get_attribute("body", "data-state")
        page.wait_for_selector("body[data-state=idle]", timeout=REPLY_TIMEOUT_MS)  # hung up by itself
        seen["turn"] = page_facts(page)

        page.evaluate("window.__probe.holdAnswers = true")  # Stop while the offer is in flight
        page.click("#start")
        page.wait_for_selector("html[data-probe-held]", state="attached")
        page.click("#stop")
        with page.expect_response(lambda r: r.url.endswith("/hangup"), timeout=5_000) as hangup:
            page.evaluate("window.__probe.release()")
        seen["early_hangup"] = hangup.value.status
        seen["early_stop"] = page_facts(page)
    return seen


def test_a_wrong_key_shows_the_error_and_opens_nothing(visit: dict[str, Any]) -> None:
    facts = visit["wrong_key"]
    assert "Incorrect API key" in facts["error"], facts["error"]
    assert facts["state"] == "idle" and facts["startEnabled"]
    assert facts["probe"]["micTracks"] == [] and facts["probe"]["peers"] == []
    assert all("status of 401" in text for text in visit["wrong_key_console"]), visit["wrong_key_console"]


def test_both_transcripts_fill(visit: dict[str, Any]) -> None:
    facts = visit["turn"]
    assert visit["answering"] == "answering"
    assert facts["error"] is None
    assert score_wer(WORDS, facts["user"]).wer <= MAX_USER_WER, facts["user"]
    assert len(facts["assistant"].split()) >= 2, facts["assistant"]


def test_assistant_audio_arrives_well_above_the_silence_before_it(visit: dict[str, Any]) -> None:
    levels = visit["turn"]["probe"]["levels"]
    silence = [level["rms"] for level in levels if level["state"] == "listening"]
    reply = [level["rms"] for level in levels if level["state"] == "answering"]
    assert len(silence) >= 10, "the remote track delivered no audio before Stop"
    threshold = max(max(silence) * 10 ** (ABOVE_SILENCE_DB / 20), 10 ** (FLOOR_DBFS / 20))
    loud = sum(rms > threshold for rms in reply)
    assert loud * PROBE_INTERVAL_S >= MIN_REPLY_AUDIO_S, (max(silence), max(reply, default=0.0), loud)


def test_the_event_log_shows_every_event_sent_and_received(visit: dict[str, Any]) -> None:
    log = [tuple(entry) for entry in visit["turn"]["log"]]
    sent = [event for direction, event in log if direction == "sent"]
    assert sent == ["session.update", "input_audio_buffer.commit", "response.create"]
    received = {event for direction, event in log if direction == "received"}
    assert {
        "session.created",
        "conversation.item.input_audio_transcription.completed",
        "response.output_audio_transcript.done",
        "response.done",
        "output_audio_buffer.stopped",
    } <= received
    assert log[-1] == ("info", "hung up")


def test_ice_uses_only_loopback(visit: dict[str, Any]) -> None:
    probe = visit["turn"]["probe"]
    candidates = probe["candidates"]
    selected = [pair for pair in probe["pairs"] if pair["nominated"] and pair["state"] == "succeeded"]
    assert selected, probe["pairs"]
    for pair in selected:
        assert candidates[pair["local"]]["address"] == candidates[pair["remote"]]["address"] == "127.0.0.1"
    local = {c["address"] for c in candidates.values() if c["kind"] == "local-candidate"}
    remote = {c["address"] for c in candidates.values() if c["kind"] == "remote-candidate"}
    assert local <= {"127.0.0.1", "::1"} and remote == {"127.0.0.1"}, candidates
    assert all(url.startswith("http://127.0.0.1:") for url in visit["requests"]), visit["requests"]


def test_stop_cleans_up_the_tracks_the_peer_connection_and_the_call(
    visit: dict[str, Any], rth_server: BackgroundStandIn
) -> None:
    probe = visit["turn"]["probe"]
    assert probe["peers"] == ["closed"]
    assert probe["micTracks"] and set(probe["micTracks"]) == {"ended"}
    assert len(visit["calls"]) == 2  # this turn's, then the one stopped while connecting
    deadline = time.monotonic() + 5.0
    while visit["calls"][0] in rth_server.open_calls and time.monotonic() < deadline:
        time.sleep(0.05)  # the stand-in learns of the closed peer connection from the network
    assert visit["calls"][0] not in rth_server.open_calls


def test_stop_while_connecting_hangs_up_the_call_the_server_made(
    visit: dict[str, Any], rth_server: BackgroundStandIn
) -> None:
    facts = visit["early_stop"]
    assert facts["state"] == "idle" and facts["error"] is None
    assert set(facts["probe"]["peers"]) == {"closed"} and set(facts["probe"]["micTracks"]) == {"ended"}
    assert visit["early_hangup"] == 200
    assert visit["calls"][1] not in rth_server.open_calls


def test_no_console_error_and_no_secret_on_the_page(
    visit: dict[str, Any], rth_server: BackgroundStandIn
) -> None:
    assert visit["console"] == []
    html = visit["turn"]["html"]
    assert rth_server.api_key not in html and "ek_" not in html
