"""Store URLs fit to print: without a password, wherever the URL carried one."""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit

UNPARSEABLE = "<unparseable URL>"


def redact_url(url: str) -> str:
    """`url` without its password: the `:password` of `user:password@host` and any `password=`
    (or `sslpassword=`, ...) query parameter are dropped; the rest is left as written.

    What does not parse as a URL, or parses in a way that could have put part of a password
    somewhere else (an unencoded `/`, `?` or `#` in it), is `<unparseable URL>`: never the text.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed `[` of an IPv6 host
        return UNPARSEABLE
    if not parts.scheme:
        return UNPARSEABLE
    if parts.netloc and "@" in parts.path + parts.query + parts.fragment:
        return UNPARSEABLE  # an `@` after the host: the password's own, not encoded
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}{at}{hostport}"
    segments = parts.query.split("&") if parts.query else []
    kept = [s for s in segments if "password" not in unquote_plus(s.partition("=")[0]).lower()]
    shown = url
    if netloc != parts.netloc or len(kept) != len(segments):
        shown = parts._replace(netloc=netloc, query="&".join(kept)).geturl()
    # a key=value connection string behind a scheme (`postgresql:host=db password=...`)
    return UNPARSEABLE if "password=" in shown.lower() else shown
