"""``Server-Timing: app;dur=<ms>`` on every HTTP response.

The outermost ASGI wrapper: it measures from the moment the request reaches the
application until the response head is sent (tenant resolution, middleware, handler and
template rendering, not the network). Browser devtools show the figure next to each
request, and the benchmarks (``bench/assessment_*.py``) read it to tell server time from
client time. It costs two clock reads and one header per response.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SERVER_TIMING_HEADER", "ServerTimingApp", "timing_value"]

SERVER_TIMING_HEADER = b"server-timing"
_METRIC = "app"


def timing_value(duration_s: float) -> bytes:
    """The header value for ``duration_s`` seconds: ``app;dur=<milliseconds>``."""
    return f"{_METRIC};dur={duration_s * 1000:.2f}".encode("ascii")


class ServerTimingApp:
    """Wraps an ASGI app and adds the ``app`` server timing to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        # Callers reach the wrapped application's attributes (state, routes, …) as before.
        if name == "app":  # not set yet (e.g. while copying): no recursion
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                headers.append((SERVER_TIMING_HEADER, timing_value(time.perf_counter() - started)))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_timing)
