"""Target base URLs: what makes one unusable, and how to show one without what it should not carry.

Credentials travel only as the API key (``OPENAI_API_KEY``, sent in a header). A URL is written to
report.json, the terminal and CI logs, so one that carries credentials (``https://user:key@host``,
``?api_key=...``) is refused rather than stripped and used: stripping would drop, without a word,
what the user meant to send. A base URL has no query string in any case: paths are appended to it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

EXAMPLE = "https://api.openai.com/v1"


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a target's base URL (one clause naming the fix), or None. Secrets are
    looked for in the text first, so a URL that does not even parse is still refused for them."""
    text = url.strip()
    if "@" in text:
        return (
            "credentials in a URL are refused (a URL is written to every report); "
            "drop the 'user:password@' part and set the key in OPENAI_API_KEY"
        )
    if "?" in text or "#" in text:
        return (
            "a base URL takes no query string or fragment (paths are appended to it, and it is "
            "written to every report); drop the '?...' part, and set a key in OPENAI_API_KEY"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parsing the port is the check (a bad one raises ValueError)
    except ValueError:
        return f"not a valid URL; expected http(s)://host[:port]/v1, e.g. {EXAMPLE}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not a base URL; expected http(s)://host[:port]/v1, e.g. {EXAMPLE}"
    return None


def redact_url(url: str) -> str:
    """``url`` as it may be shown: whatever precedes its last ``@`` (user info, and a password
    holding ``/``, ``?`` or ``#``) and any query or fragment become ``***``. Text, not parsing, so
    that even a URL no parser accepts loses its secrets."""
    text = url.strip()
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "", text
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    if "?" in rest or "#" in rest:
        rest = rest.split("?", 1)[0].split("#", 1)[0] + "?***"
    return f"{scheme}{separator}{rest}"
