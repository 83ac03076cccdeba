"""``Server-Timing: app;dur=<ms>``: measured up to the response head, on every response."""

from __future__ import annotations

import asyncio
import gc
import re
from typing import Any

import httpx

from scalemark.web.server_timing import ServerTimingApp, timing_value

TIMING = re.compile(r"^app;dur=(\d+\.\d{2})$")


def _duration_ms(response: httpx.Response) -> float:
    match = TIMING.match(response.headers.get("server-timing", ""))
    assert match, response.headers
    return float(match[1])


async def _slow_app(scope: Any, receive: Any, send: Any) -> None:
    """Thinks 30 ms before the head, then streams a body for another 100 ms."""
    await asyncio.sleep(0.03)
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"text/plain"), (b"x-kept", b"yes")],
        }
    )
    await send({"type": "http.response.body", "body": b"part ", "more_body": True})
    await asyncio.sleep(0.1)
    await send({"type": "http.response.body", "body": b"end"})


def _client(app: Any, host: str = "localhost") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=f"http://{host}", timeout=10
    )


async def test_duration_runs_until_the_response_head() -> None:
    async with _client(ServerTimingApp(_slow_app)) as client:
        response = await client.get("/anything")
    assert response.status_code == 201
    assert response.text == "part end"
    assert response.headers["x-kept"] == "yes"
    duration = _duration_ms(response)
    # The 30 ms before the head count; the 100 ms of body streaming do not.
    assert 30 <= duration < 100


async def test_other_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        await send({"type": "lifespan.startup.complete"})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "lifespan.startup"}

    await ServerTimingApp(inner)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]
    assert sent == [{"type": "lifespan.startup.complete"}]


def test_header_value_format() -> None:
    assert timing_value(0.0123456) == b"app;dur=12.35"
    assert timing_value(0) == b"app;dur=0.00"


def test_wrapper_exposes_the_wrapped_apps_attributes() -> None:
    class Inner:
        state = "the state"

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            raise AssertionError("not called")

    assert ServerTimingApp(Inner()).state == "the state"


async def test_the_application_is_timed_outermost() -> None:
    """Even a page the host resolver answers itself (before Litestar) carries the header."""
    from scalemark.app import create_app
    from scalemark.web.middleware import HostTenantApp

    app = create_app()
    gc.unfreeze()  # create_app() freezes the heap for the server; undo it for this process
    assert isinstance(app, ServerTimingApp)
    assert isinstance(app.app, HostTenantApp)
    async with _client(app, host="evil.example") as client:
        response = await client.get("/")
    assert response.status_code == 400
    assert _duration_ms(response) >= 0
