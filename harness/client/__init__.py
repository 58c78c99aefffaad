"""The WebRTC client: connect to a Realtime API (unified or ephemeral), exchange data-channel
events, replay WAVs on the input track and capture the received audio, all onto a Timeline.

Typical use::

    target = Target(base_url="http://127.0.0.1:8089/v1", api_key="sk-...", model="gpt-realtime")
    async with await RealtimeSession.connect(target, timeline=Timeline("smoke"),
                                             session_config={"type": "realtime"}) as session:
        session.begin_output_recording(Path("out/turn0.wav"))
        await session.play(Path("fixtures/audio/weather_paris.wav"))
        await session.send({"type": "input_audio_buffer.commit"})
        await session.send({"type": "response.create"})
        await session.wait_for("output_audio_buffer.stopped", timeout=30)
        captured = session.end_output_recording()
"""

from harness.client.audio_sink import CapturedAudio
from harness.client.session import CONNECT_TIMEOUT_S, RealtimeSession, SessionUpdateRejected
from harness.client.target import ConnectMode, Target

__all__ = [
    "CONNECT_TIMEOUT_S",
    "CapturedAudio",
    "ConnectMode",
    "RealtimeSession",
    "SessionUpdateRejected",
    "Target",
]
