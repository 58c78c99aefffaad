"""``rth serve``: the stand-in Realtime server."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from harness.cli._app import EXIT_OK, app, exit_codes
from harness.errors import UsageError


class PaceChoice(StrEnum):
    ahead = "ahead"
    realtime = "realtime"


class TurnDetectionChoice(StrEnum):
    server_vad = "server_vad"
    semantic_vad = "semantic_vad"
    none = "none"


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback keeps ICE on 127.0.0.1.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port for the HTTP endpoints.")] = 8089,
    api_key: Annotated[
        str | None,
        typer.Option(
            help="Accept only this standard key (default: any non-empty key).", envvar="RTH_SERVE_API_KEY"
        ),
    ] = None,
    pace: Annotated[
        PaceChoice,
        typer.Option(
            help="ahead: replies generate faster than they play, as the live API (response.done before "
            "the audio ends); realtime: generation follows playback."
        ),
    ] = PaceChoice.ahead,
    generation_speed: Annotated[
        float, typer.Option(min=1.0, help="With --pace ahead: how many times faster than real time.")
    ] = 3.0,
    turn_detection: Annotated[
        TurnDetectionChoice, typer.Option(help="turn_detection of new sessions (clients may change it).")
    ] = TurnDetectionChoice.server_vad,
    persona: Annotated[
        Path | None, typer.Option(help="YAML reply rules (see examples/personas/); default echoes the user.")
    ] = None,
    voice: Annotated[str, typer.Option(help="Default output voice of new sessions.")] = "cedar",
    first_audio_delay_ms: Annotated[
        float, typer.Option(min=0.0, help="Hold each reply's first audio this long after response.created.")
    ] = 0.0,
    transcription_delay_ms: Annotated[
        float, typer.Option(min=0.0, help="Hold input transcription events this long after the commit.")
    ] = 0.0,
    jitter_ms: Annotated[
        float, typer.Option(min=0.0, help="Add a random 0..N ms to each injected delay (seeded).")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the injected jitter (same seed, same delays).")] = 0,
    load: Annotated[
        bool,
        typer.Option(
            "--load",
            help="Load mode: replies Opus-encoded once and sent as packets; no decoding or recognition "
            "nobody needs (same events and timing; see docs/standin.md).",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes sharing the port (SO_REUSEPORT), one loop each.")
    ] = 1,
    timing_log: Annotated[
        Path | None,
        typer.Option(
            help="Append each injected delay, once complete, to this file as a JSON line (call_id, kind, "
            "subject_id, target_ms, actual_ms, actual_at: time.monotonic() of this machine)."
        ),
    ] = None,
    faults: Annotated[
        Path | None,
        typer.Option(
            help="YAML file with a 'faults' list injected into every call (HTTP errors, slow answers, "
            "dropped channels or peers, event and RTP faults; see docs/reliability.md)."
        ),
    ] = None,
) -> None:
    """Run the stand-in Realtime server (HTTP + WebRTC + data channel, offline ASR and TTS)."""
    from harness.scenario.faults import load_faults_file
    from harness.server import ResponsePacing, ServerConfig, TurnDetectionDefault, load_persona
    from harness.server import serve as serve_forever
    from harness.server.session import VOICES

    with exit_codes(interrupted=None, interrupted_code=EXIT_OK):  # Ctrl-C is how a server stops
        if voice not in VOICES:
            raise UsageError(f"unknown --voice {voice!r}; use one of {', '.join(VOICES)}")
        if persona is not None:
            load_persona(persona)  # a bad file fails here, not on the first call
        injected = load_faults_file(faults) if faults is not None else ()
        config = ServerConfig(
            host=host,
            port=port,
            api_key=api_key,
            voice=voice,
            pacing=ResponsePacing(pace.value),
            generation_speed=generation_speed,
            turn_detection=TurnDetectionDefault(turn_detection.value),
            persona=persona,
            first_audio_delay_ms=first_audio_delay_ms,
            transcription_delay_ms=transcription_delay_ms,
            jitter_ms=jitter_ms,
            seed=seed,
            load=load,
            workers=workers,
            timing_log_path=timing_log,
            faults=injected,
        )
        try:
            serve_forever(config)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port or --host"
            ) from None
