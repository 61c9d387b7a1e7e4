"""What keeps the reading station to its reader: an access token on every start, the page's origin checked on the
websocket, errors sent to the page as one line, reader names checked.

Nothing here imports slicer or trame, so the rules are tested on their own; :func:`protect` attaches them to the
trame server's web application (aiohttp) before it starts.

- **Token.** A new random token on every start, loopback included (as notebook servers do): the address to open is
  printed with it (``?secret=TOKEN``). The websocket's first message must carry it (wslink's handshake); a page
  asked for without it gets one line saying where to find the address, instead of a page that cannot connect.
- **Origin.** A browser sends the page's origin with every websocket request; a page of another site (another
  host or port) is refused before the handshake, so a page the reader opens elsewhere in the same browser cannot
  drive the station even if it guessed the address.
- **Errors.** wslink sends an exception raised by a server method to the page with its traceback (the server's
  file paths); :func:`protect` replaces that by one line. The station's own methods catch their errors first and
  show them in the page (see ``app.py``).
"""

from __future__ import annotations

import secrets
import unicodedata
from urllib.parse import urlsplit

from ..errors import PentixaforQuantError

__all__ = ["new_token", "token_matches", "same_origin", "check_reader_name", "protect", "READER_MAX_CHARS",
           "NO_TOKEN_PAGE"]

#: Longest reader name accepted (after collapsing white space).
READER_MAX_CHARS = 80

#: The answer to a page asked for without its token (or with another one).
NO_TOKEN_PAGE = ("<!doctype html><meta charset=utf-8><title>PentixaforQuant reading station</title>"
                 "<p id=no-token>This reading station needs its access address: open the address printed by "
                 "<code>pentixafor-quant web</code> when it started (it ends with <code>?secret=...</code>).</p>")


def new_token() -> str:
    """A random access token (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def token_matches(given: str | None, token: str) -> bool:
    """Whether ``given`` is the token (compared in constant time)."""
    return given is not None and secrets.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether a request's ``Origin`` header names the server it was sent to (``Host`` header: ``name:port``).

    A request without an ``Origin`` header (not sent by a browser page) is let through: it still needs the token.
    The opaque origin ``null`` (a sandboxed frame, a ``file:`` page) is refused.
    """
    if origin is None:
        return True
    if not host or origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    default = {"http": 80, "https": 443}[parts.scheme]
    return _host_port(parts.netloc, default) == _host_port(host, default)


def _host_port(netloc: str, default_port: int) -> tuple[str, int]:
    netloc = netloc.lower()
    if netloc.startswith("["):  # [::1]:8080
        name, _, rest = netloc[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = netloc.partition(":")
    try:
        return name, int(port) if port else default_port
    except ValueError:
        return name, -1


def check_reader_name(raw: str | None) -> str:
    """The reader's name as saved: white space collapsed; refused (one line) when empty, longer than
    :data:`READER_MAX_CHARS`, or holding a character that is not printable (control characters such as NUL,
    bidirectional overrides and other format characters, unassigned code points).
    """
    name = " ".join((raw or "").split())
    if not name:
        raise PentixaforQuantError("enter the reader's name before saving")
    if len(name) > READER_MAX_CHARS:
        raise PentixaforQuantError(f"the reader's name is {len(name)} characters long; use at most "
                                   f"{READER_MAX_CHARS}")
    bad = next((ch for ch in name if not ch.isprintable()), None)
    if bad is not None:
        what = unicodedata.name(bad, f"U+{ord(bad):04X}")
        raise PentixaforQuantError(f"the reader's name holds a character that cannot be shown ({what}); type it "
                                   "again")
    return name


def protect(server, token: str) -> None:
    """Attach the token, origin and error rules to a trame server (call before ``server.start``)."""

    def bind(wslink_server):
        from aiohttp import web

        @web.middleware
        async def guard(request, handler):
            if request.headers.get("Upgrade", "").lower() == "websocket":
                if not same_origin(request.headers.get("Origin"), request.headers.get("Host")):
                    return web.Response(status=403, text="refused: the page is not from this reading station\n")
            elif request.path in ("/", "/index.html") and not token_matches(request.query.get("secret"), token):
                return web.Response(status=403, text=NO_TOKEN_PAGE, content_type="text/html")
            return await handler(request)

        wslink_server.app.middlewares.append(guard)
        for handler in getattr(wslink_server, "_ws_handlers", ()):
            _one_line_errors(handler)

    server.controller.on_server_bind.add(bind)


def _one_line_errors(ws_handler) -> None:
    """Make wslink send an error of a server method as one line (no traceback, no exception text with paths)."""
    send = ws_handler.sendWrappedError

    async def send_one_line(rpcid, code, message, data=None, client_id=None):
        if isinstance(data, dict) and "trace" in data:
            data = {"method": str(data.get("method", "")), "exception": "the server could not do this"}
        return await send(rpcid, code, message, data, client_id=client_id)

    ws_handler.sendWrappedError = send_one_line
