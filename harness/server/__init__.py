"""The stand-in OpenAI Realtime server: WebRTC answerer, event engine, pocketsphinx ASR, flite TTS.

Public surface::

    from harness.server import ServerConfig, StandInServer, serve
    async with StandInServer(ServerConfig(host="127.0.0.1", port=0, api_key="sk-test")) as server:
        server.base_url  # "http://127.0.0.1:<port>/v1"
    serve(config)  # blocking, for ``rth serve``
"""

from harness.server.config import ResponsePacing, ServerConfig
from harness.server.server import StandInServer, serve
from harness.server.tts import VOICE_MAP

__all__ = ["VOICE_MAP", "ResponsePacing", "ServerConfig", "StandInServer", "serve"]
