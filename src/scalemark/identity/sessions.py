"""Server-side sessions in Redis whose id changes at sign-in (no session fixation)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty, Message, ScopeSession

__all__ = [
    "SESSION_COOKIE",
    "SESSION_USER_KEY",
    "RotatingSessionConfig",
    "end_session",
    "start_session",
]

SESSION_COOKIE = "sm_session"
SESSION_USER_KEY = "user_id"
_NEW_ID = "scalemark.session.new_id"
_OLD_ID = "scalemark.session.old_id"


class RotatingSessionBackend(ServerSideSessionBackend):
    """Uses a fresh id after :func:`start_session` and deletes the old one."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        """The rotated id when this request signed someone in, else the cookie's."""
        state = connection.scope.get("state", {})
        new_id = state.get(_NEW_ID)
        if isinstance(new_id, str):
            return new_id
        return super().get_session_id(connection)

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        """The cookie's session; an id the store does not know is never adopted."""
        session_id = connection.cookies.get(self.config.key)
        if session_id and session_id != "null":
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(session_id, store=store)
            if data is not None:
                return self.deserialize_data(data)
            # Expired, or chosen by someone else: a later write gets a fresh id.
            connection.scope.setdefault("state", {})[_NEW_ID] = self.generate_session_id()  # type: ignore[typeddict-item]
        return {}

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection
    ) -> None:
        """Drop the pre-login session before writing the new one; store no empty sessions."""
        old_id = connection.scope.get("state", {}).get(_OLD_ID)
        if isinstance(old_id, str):
            store = self.config.get_store_from_app(connection.scope["app"])
            await self.delete(old_id, store=store)
        if scope_session is Empty or not scope_session:
            cookie = connection.cookies.get(self.config.key)
            if cookie and cookie != "null":
                await super().store_in_message(Empty, message, connection)
            return
        await super().store_in_message(scope_session, message, connection)


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    """Server-side session configuration with id rotation at sign-in."""

    _backend_class = RotatingSessionBackend


def start_session(request: Request[Any, Any, Any], user_id: int, **extra: Any) -> None:
    """Sign ``user_id`` in: new session id, old data dropped except the language choice."""
    state = request.scope.setdefault("state", {})  # type: ignore[typeddict-item]
    old_id = request.cookies.get(SESSION_COOKIE)
    if old_id and old_id != "null":
        state[_OLD_ID] = old_id
    state[_NEW_ID] = secrets.token_hex(32)
    keep = {k: v for k, v in request.session.items() if k == "locale"}
    request.clear_session()
    request.set_session({**keep, SESSION_USER_KEY: user_id, **extra})


def end_session(request: Request[Any, Any, Any]) -> None:
    """Sign out: the session is deleted from Redis and the cookie cleared."""
    request.clear_session()
