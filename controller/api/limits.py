"""Request limits: the size of a request body, bounded before anything reads or parses it.

``BodyLimit`` is a pure ASGI middleware (no ``BaseHTTPMiddleware``: it must not buffer the
body it guards). A request whose ``Content-Length`` is over the limit is answered 413
before the application sees it; a body without one (chunked) is counted as it streams and
refused at the first chunk past the limit, so the server never holds more than the limit
plus one chunk of it, whichever route it was sent to and whether or not the caller is
authenticated.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def too_large_detail(max_bytes: int) -> str:
    return (f"request body larger than {max_bytes} bytes: send a smaller one "
            "(the server's limit is its setting PORELINE_MAX_BODY_BYTES)")


def declared_length(headers: Headers) -> int | None:
    """The ``Content-Length`` of a request, None when it has none; ValueError when it is
    not a whole number of bytes."""
    value = headers.get("content-length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise ValueError(f"Content-Length {value[:40]!r} is not a whole number of bytes")
    return int(value)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. An HTTPException, so
    that code that reads the body (FastAPI's parsing, a form parser) passes it on as it is
    and the application's handler answers 413 with the reason."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large_detail(max_bytes))


class BodyLimit:
    """Answer 413 to any HTTP request whose body is larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            length = declared_length(Headers(scope=scope))
        except ValueError as exc:
            await _refuse(scope, receive, send, 400, str(exc))
            return
        if length is not None and length > self.max_bytes:
            await _refuse(scope, receive, send, 413, too_large_detail(self.max_bytes))
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:  # read where no handler answers it
            if started:
                raise
            await _refuse(scope, receive, send, 413, str(exc.detail))


async def _refuse(scope: Scope, receive: Receive, send: Send, status_code: int, detail: str) -> None:
    """Answer with ``{"detail": ...}`` and close the connection: the rest of the body is
    never read."""
    response = JSONResponse({"detail": detail}, status_code=status_code, headers={"Connection": "close"})
    await response(scope, receive, send)
