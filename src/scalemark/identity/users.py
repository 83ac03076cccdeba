"""Accounts in the shared schema: create, find, passwords, preferences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalemark.i18n import lazy_gettext as _l
from scalemark.identity.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from scalemark.identity.roles import PLATFORM_ROLES
from scalemark.identity.tables import UserAccount

__all__ = [
    "User",
    "UserError",
    "check_password",
    "create_user",
    "get_user",
    "get_user_by_email",
    "normalise_email",
    "record_login",
    "set_password",
    "update_preferences",
    "validate_password",
]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$")


class UserError(ValueError):
    """A user change that breaks a rule; ``field`` names the form field."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class User:
    """An account as the application sees it (never with the password hash)."""

    id: int
    email: str
    name: str
    locale: str | None
    timezone: str
    status: str
    platform_role: str | None
    has_password: bool
    last_login_at: datetime | None

    @property
    def display_name(self) -> str:
        """Name, or the e-mail when no name is known."""
        return self.name or self.email

    @property
    def active(self) -> bool:
        """Disabled accounts cannot sign in."""
        return self.status == "active"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        """Build from a ``user_account`` row."""
        return cls(
            id=row["id"],
            email=row["email"],
            name=row["name"],
            locale=row["locale"],
            timezone=row["timezone"],
            status=row["status"],
            platform_role=row["platform_role"],
            has_password=bool(row.get("password_hash")),
            last_login_at=row.get("last_login_at"),
        )


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased; raises :class:`UserError` when it is not an address."""
    value = (email or "").strip().lower()
    if len(value) > 320 or not _EMAIL.fullmatch(value):
        raise UserError("email", _l("Enter a valid e-mail address."))
    return value


def validate_password(password: str) -> str:
    """Length rules for new passwords."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(
            "password",
            _l("Use at least 10 characters for your password."),
        )
    if len(password) > 1024:
        raise UserError("password", _l("This password is too long."))
    return password


async def get_user(user_id: int) -> User | None:
    """One account by id."""
    row = await UserAccount.select().where(UserAccount.id == user_id).first()
    return User.from_row(row) if row else None


async def get_user_by_email(email: str) -> User | None:
    """One account by e-mail (case-insensitive)."""
    try:
        value = normalise_email(email)
    except UserError:
        return None
    row = await UserAccount.select().where(UserAccount.email == value).first()
    return User.from_row(row) if row else None


async def create_user(
    email: str,
    *,
    name: str = "",
    password: str | None = None,
    platform_role: str | None = None,
    locale: str | None = None,
) -> User:
    """A new account; the e-mail must be free."""
    value = normalise_email(email)
    if platform_role is not None and platform_role not in PLATFORM_ROLES:
        raise UserError("platform_role", _l("Unknown platform role."))
    if await UserAccount.exists().where(UserAccount.email == value):
        raise UserError("email", _l("An account with this e-mail address exists already."))
    rows = await UserAccount.insert(
        UserAccount(
            email=value,
            name=name.strip()[:200],
            password_hash=hash_password(validate_password(password)) if password else None,
            platform_role=platform_role,
            locale=locale,
        )
    ).returning(*UserAccount.all_columns())
    return User.from_row(rows[0])


async def set_password(user_id: int, password: str) -> None:
    """Replace the password."""
    await UserAccount.update(
        {
            UserAccount.password_hash: hash_password(validate_password(password)),
            UserAccount.updated_at: datetime.now().astimezone(),
        }
    ).where(UserAccount.id == user_id)


async def check_password(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else ``None`` (same effort either way)."""
    try:
        value = normalise_email(email)
    except UserError:
        verify_password(None, password)
        return None
    row = await UserAccount.select().where(UserAccount.email == value).first()
    if not verify_password(row["password_hash"] if row else None, password):
        return None
    assert row is not None
    user = User.from_row(row)
    return user if user.active else None


async def record_login(user_id: int) -> None:
    """Remember when the user last signed in."""
    await UserAccount.update({UserAccount.last_login_at: datetime.now().astimezone()}).where(
        UserAccount.id == user_id
    )


async def update_preferences(
    user_id: int, *, name: str | None = None, locale: str | None = None, timezone: str | None = None
) -> User:
    """Change name, language or time zone."""
    values: dict[Any, Any] = {UserAccount.updated_at: datetime.now().astimezone()}
    if name is not None:
        values[UserAccount.name] = name.strip()[:200]
    if locale is not None:
        values[UserAccount.locale] = locale
    if timezone is not None:
        values[UserAccount.timezone] = timezone
    await UserAccount.update(values).where(UserAccount.id == user_id)
    user = await get_user(user_id)
    assert user is not None
    return user
