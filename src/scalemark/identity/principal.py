"""Who is asking: the signed-in user (session or API token) and their grants here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from scalemark.identity.roles import Grant, Permission, allows
from scalemark.identity.users import User

__all__ = ["Principal", "acting_as", "current_principal"]


@dataclass(frozen=True)
class Principal:
    """A user acting in the current tenant (or on the platform site)."""

    user: User
    """The account."""
    grants: tuple[Grant, ...] = field(default=())
    """Effective roles in the current tenant (empty on the platform site)."""
    via: str = "session"
    """``session`` or ``token``."""
    ip: str | None = None
    """Client address, for the audit log."""

    @property
    def is_member(self) -> bool:
        """Has any active role in the current tenant."""
        return bool(self.grants)

    @property
    def is_consultant(self) -> bool:
        """Acts here as an assigned consultant."""
        return any(g.role == "consultant" for g in self.grants)

    @property
    def roles(self) -> set[str]:
        """Roles held anywhere in the tenant."""
        return {g.role for g in self.grants}

    def can(self, permission: Permission, unit_path: str | None = None) -> bool:
        """Allowed at the unit with this path (anywhere when ``unit_path`` is None)."""
        return allows(self.grants, permission, unit_path)

    def scope_paths(self, permission: Permission) -> list[str]:
        """Subtree roots where ``permission`` holds."""
        from scalemark.identity.roles import permissions_of

        return [g.unit_path for g in self.grants if permission in permissions_of(g.role)]


_principal: ContextVar[Principal | None] = ContextVar("scalemark_principal", default=None)


def current_principal() -> Principal | None:
    """The principal of this request or job, if any."""
    return _principal.get()


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Run a block on behalf of ``principal`` (the audit log names them)."""
    token = _principal.set(principal)
    try:
        yield
    finally:
        _principal.reset(token)
