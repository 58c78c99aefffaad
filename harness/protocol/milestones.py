"""Timeline milestone names: connect phases, turn boundaries and audio marks.

The client records the connect and audio ones, the runner the turn and speech ones, and metrics and
reports read them back from ``timeline.jsonl``: one list, so a renamed milestone cannot leave a
reader looking for the old name.
"""

from __future__ import annotations

from enum import StrEnum


class Milestone(StrEnum):
    CONNECT_START = "connect.start"
    CONNECT_RETRY = "connect.retry"  # a session-creating request answered 429/5xx, about to be retried
    CLIENT_SECRET_CREATED = "connect.client_secret_created"
    SDP_OFFER_CREATED = "connect.sdp_offer_created"
    SDP_ANSWER_RECEIVED = "connect.sdp_answer_received"
    ICE_CONNECTED = "connect.ice_connected"
    PEER_CONNECTED = "connect.peer_connected"  # ICE + DTLS done
    CHANNEL_OPEN = "connect.channel_open"
    SESSION_READY = "connect.session_ready"  # session.updated received after our session.update
    TURN_START = "turn.start"
    TURN_END = "turn.end"
    INPUT_AUDIO_START = "audio.input.start"  # first frame of a WAV handed to the sender
    INPUT_AUDIO_END = "audio.input.end"  # last frame of a WAV handed to the sender
    # Where speech starts / ends in the audio actually sent (the runner stamps them per clip, from
    # the resampled, gain-applied samples, offset from its audio.input.start). Data: role, path.
    INPUT_SPEECH_START = "audio.input.speech_start"
    INPUT_SPEECH_END = "audio.input.speech_end"
    OUTPUT_AUDIO_ONSET = "audio.output.onset"  # first non-silent received frame after silence
    OUTPUT_AUDIO_OFFSET = "audio.output.offset"  # last non-silent received frame before silence
    HANGUP = "connect.hangup"
    CLOSED = "connect.closed"
