"""The stand-in OpenAI Realtime server: WebRTC answerer, event engine, pocketsphinx ASR, flite TTS.

Public surface::

    from harness.server import ServerConfig, StandInServer, serve
    async with StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key="sk-test")) as server:
        server.base_url  # "http://127.0.0.1:<port>/v1"
    serve(config)  # blocking, for ``rth serve``

Calibration and scripted replies: ``ServerConfig(first_audio_delay_ms=..., persona=Path(...))``
(the default persona; a call brings its own in an ``X-Rth-Persona`` header, see
``harness.protocol.standin``), ``server.timing_log`` for the injected truth.
"""

from harness.server.config import ResponsePacing, ServerConfig, TurnDetectionDefault
from harness.server.persona import Persona, PersonaError, load_persona, parse_persona
from harness.server.server import StandInServer, serve
from harness.server.timing import TimingLog, TimingRecord
from harness.server.tts import VOICE_MAP

__all__ = [
    "VOICE_MAP",
    "Persona",
    "PersonaError",
    "ResponsePacing",
    "ServerConfig",
    "StandInServer",
    "TimingLog",
    "TimingRecord",
    "TurnDetectionDefault",
    "load_persona",
    "parse_persona",
    "serve",
]
