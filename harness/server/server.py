"""The stand-in server's lifecycle: start the HTTP site and the engines, close every call on exit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from aiohttp import web

from harness.server import playground
from harness.server.asr import Recognizer
from harness.server.asr_cache import TranscriptCache
from harness.server.call import Call, Engines
from harness.server.cluster import Siblings, WorkerSpec
from harness.server.config import ServerConfig, api_base_url
from harness.server.http import MAX_FIELD_SIZE, Api
from harness.server.keys import KeyStore
from harness.server.opus_replies import EncodedVoice
from harness.server.persona import Persona, default_persona, load_persona
from harness.server.redact import SERVER_LOGGER
from harness.server.timing import TimingLog
from harness.server.tts import Synthesizer

logger = logging.getLogger(__name__)


class StandInServer:
    """An offline OpenAI Realtime (WebRTC) server: ``async with StandInServer(config) as server``.

    ``timing_log`` records every injected delay and what the server achieved (see
    :mod:`harness.server.timing`). ``config.persona`` is the default reply rules, fixed for the
    server's life; a call brings its own in an ``X-Rth-Persona`` header (no server-wide switch, so
    concurrent calls never see each other's). A bad ``config.persona`` file raises
    :class:`~harness.server.persona.PersonaError` here.

    ``cluster`` makes it one process of a ``--workers`` stand-in (:mod:`harness.server.workers`):
    it shares ``config.port`` (SO_REUSEPORT) and the key secret, and listens for hangups its
    siblings forward on its control port.
    """

    def __init__(self, config: ServerConfig, cluster: WorkerSpec | None = None) -> None:
        self.config = config
        self._cluster = cluster
        self._control: web.AppRunner | None = None
        self.calls: dict[str, Call] = {}
        self._runner: web.AppRunner | None = None
        self._asr: Recognizer | None = None
        self._warm_up: asyncio.Task[None] | None = None
        self._encoded: EncodedVoice | None = None
        self._transcripts: TranscriptCache | None = None
        self._port: int | None = None
        self._persona = self._load(config.persona)
        self.timing_log = TimingLog(path=config.timing_log_path)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the stand-in server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``: give it to clients as their API base URL."""
        return api_base_url(self.config.host, self.port)

    def _load(self, persona: Persona | Path | None) -> Persona:
        if persona is None:
            return default_persona(self.config.no_speech_reply)
        return persona if isinstance(persona, Persona) else load_persona(persona)

    @property
    def transcript_cache(self) -> TranscriptCache | None:
        """Load mode's recognition cache (its ``hits``/``recognitions`` counters); None otherwise."""
        return self._transcripts

    @property
    def persona(self) -> Persona:
        """The default persona: for calls without an ``X-Rth-Persona`` header."""
        return self._persona

    async def start(self) -> None:
        # The openai types that validate client events take ~0.5-1.5 s to import: on the loop at
        # the first session.update, that would stall the audio of every live call. Pay it here.
        import openai.types.realtime  # noqa: F401

        self._asr = Recognizer(self.config.asr_workers)
        self._warm_up = asyncio.create_task(self._asr.warm_up(), name="rth-asr-warm-up")
        self._warm_up.add_done_callback(_log_warm_up)
        synthesizer = Synthesizer(self.config.flite_path, self.config.tts_cache_size)
        if self.config.load:
            self._encoded = EncodedVoice(synthesizer, self.config.tts_cache_size)
            self._transcripts = TranscriptCache(self.config.transcript_cache_size)
        engines = Engines(
            config=self.config,
            asr=self._asr,
            tts=self._encoded or synthesizer,
            default_persona=self._persona,
            timing_log=self.timing_log,
            transcripts=self._transcripts,
        )
        api = self._api(engines)
        self._runner = web.AppRunner(
            api.app(), handle_signals=False, max_field_size=MAX_FIELD_SIZE, logger=SERVER_LOGGER
        )
        await self._runner.setup()
        shared = True if self._cluster is not None else None
        try:
            await web.TCPSite(self._runner, self.config.host, self.config.port, reuse_port=shared).start()
            if self._cluster is not None:
                self._control = web.AppRunner(api.control_app(), handle_signals=False, logger=SERVER_LOGGER)
                await self._control.setup()
                port = self._cluster.control_port
                await web.TCPSite(self._control, "127.0.0.1", port, reuse_port=True).start()
        except OSError as exc:
            await self.close()
            if exc.errno is None:
                raise
            # asyncio says "error while attempting to bind on address (...): address already in
            # use"; `rth serve` names the address itself, so keep the system's own short words.
            raise OSError(exc.errno, os.strerror(exc.errno)) from None
        except BaseException:
            await self.close()
            raise
        self._port = int(self._runner.addresses[0][1])
        logger.info("stand-in listening on %s", self.base_url)

    def _api(self, engines: Engines) -> Api:
        config, cluster = self.config, self._cluster
        if cluster is None:
            return Api(engines, KeyStore(config.api_key, config.clock), self.calls)
        keys = KeyStore(config.api_key, config.clock, cluster.key_secret)
        return Api(engines, keys, self.calls, siblings=Siblings(cluster), worker=str(os.getpid()))

    async def warm_up(self) -> None:
        """Until the recognition workers are up and their models loaded: a runner waits for this so
        that its first session's timings are not the server's start-up (it runs in the background
        from :meth:`start` anyway)."""
        if self._asr is not None:
            await self._asr.warm_up()

    async def close(self) -> None:
        """Hang up every call, stop HTTP, stop the ASR workers (idempotent)."""
        await asyncio.gather(*(call.close() for call in list(self.calls.values())), return_exceptions=True)
        for runner in (self._control, self._runner):
            if runner is not None:
                await runner.cleanup()
        self._runner = self._control = None
        if self._warm_up is not None:
            self._warm_up.cancel()
            with contextlib.suppress(BaseException):
                await self._warm_up
            self._warm_up = None
        if self._transcripts is not None:
            await self._transcripts.close()
        if self._asr is not None:
            await self._asr.close()
            self._asr = None
        if self._encoded is not None:
            await self._encoded.close()
        self.timing_log.close()

    async def __aenter__(self) -> StandInServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _log_warm_up(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("ASR warm-up failed: %s", task.exception())


def serve(config: ServerConfig) -> None:
    """Run until Ctrl-C or SIGTERM (blocking; the ``rth serve`` command); ``config.workers`` > 1
    runs that many processes (:mod:`harness.server.workers`)."""
    if config.workers > 1:
        from harness.server.workers import serve_workers

        serve_workers(config)
        return
    asyncio.run(_serve(config))


@contextlib.contextmanager
def stop_on_signals() -> Iterator[asyncio.Event]:
    """An event Ctrl-C or SIGTERM sets while inside (the handlers go on the way out)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _serve(config: ServerConfig) -> None:
    with stop_on_signals() as stop:
        async with StandInServer(config) as server:
            print(f"rth stand-in listening on {server.base_url}", flush=True)
            playground.announce(server.base_url)
            print(config.describe(), flush=True)
            await stop.wait()
            print("rth stand-in stopping", flush=True)
