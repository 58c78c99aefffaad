"""Number formatting shared by the terminal, Markdown and HTML renderers (one look everywhere)."""

from __future__ import annotations

from harness.report.bootstrap import Interval

DASH = "-"


def number(value: float | None, unit: str) -> str:
    if value is None:
        return DASH
    if unit == "ms":
        return f"{value:,.0f}"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "ratio":
        return f"{value:.3f}"
    if unit == "tokens":
        return f"{value:,.0f}"
    if unit == "USD":
        return f"${value:.4f}" if abs(value) < 1 else f"${value:,.2f}"
    return f"{value:g}"


def signed(value: float, unit: str) -> str:
    """A delta: ``+45``, ``-1.2 pp``, ``+0.010``."""
    if unit == "%":
        return f"{value * 100:+.1f} pp"
    text = number(abs(value), unit)
    shown_zero = not any(digit in text for digit in "123456789")
    return ("-" if value < 0 and not shown_zero else "+") + text


def interval(value: Interval | None, unit: str) -> str:
    """``812 [790, 850]``."""
    if value is None:
        return DASH
    return f"{number(value.estimate, unit)} [{number(value.low, unit)}, {number(value.high, unit)}]"


def delta(value: Interval | None, unit: str) -> str:
    """``+45 [+12, +80]``."""
    if value is None:
        return DASH
    return f"{signed(value.estimate, unit)} [{signed(value.low, unit)}, {signed(value.high, unit)}]"


def ms(value: float | None) -> str:
    return number(value, "ms")


def usd(value: float | None) -> str:
    return number(value, "USD")
