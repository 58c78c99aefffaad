"""ASR worker process: one warm pocketsphinx Decoder, requests on stdin, transcripts on stdout.

Run by path with ``python -P`` (see :mod:`harness.server.asr`): it imports only the standard
library and pocketsphinx, so it starts fast and never re-runs the parent's ``__main__`` (the trap
of multiprocessing's spawn). Frames: request = u32 little-endian length + 16 kHz mono s16 PCM;
reply = one status byte (``O`` ok, ``E`` error) + u32 length + UTF-8 text. The first reply, sent
once the model is loaded, is an ``O`` frame with the text ``ready``.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
from typing import BinaryIO

_HEADER = struct.Struct("<I")


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _reply(stream: BinaryIO, status: bytes, text: str) -> None:
    payload = text.encode("utf-8")
    stream.write(status + _HEADER.pack(len(payload)) + payload)
    stream.flush()


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the server, which stops us
    from pocketsphinx import Decoder

    # Keep the protocol pipe private: anything the C library prints goes to stderr, not into replies.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    _reply(replies, b"O", "ready")
    while (header := _read_exact(requests, _HEADER.size)) is not None:
        pcm = _read_exact(requests, _HEADER.unpack(header)[0])
        if pcm is None:
            break
        try:
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hypothesis = decoder.hyp()
            _reply(replies, b"O", hypothesis.hypstr.strip() if hypothesis is not None else "")
        except Exception as exc:  # report, keep serving
            _reply(replies, b"E", f"{type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
