"""Defaults that every front end (CLI, pytest plugin, runner, client) and the stand-in share."""

from __future__ import annotations

DEFAULT_MODEL = "gpt-realtime"
"""The Realtime model a call asks for when none is given (``--model``, ``--rth-model``, ``Target``)."""
