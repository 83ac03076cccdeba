"""KPI definition rules: choices, their translated labels, validation and number input.

Plain functions, no database. A definition is *central* (``scope`` ``None``: HQ defines
it, it applies to every unit) or a *local addition* of one unit (it applies to that
unit's subtree). Local additions never weaken central KPIs: they cannot reuse a key that
already applies in their subtree, cannot be of the central level, and only the people
who manage governance at the top of a KPI's scope may change its definition and bounds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import NumberFormatError, parse_decimal

from scalemark.governance.targets import Bounds, format_share
from scalemark.i18n import current_locale, ngettext, use_locale
from scalemark.i18n import gettext as _
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n.formatting import format_currency, format_decimal, format_number
from scalemark.identity.principal import Principal
from scalemark.identity.roles import TENANT_ROLES, Permission, permissions_of

__all__ = [
    "DIRECTIONS",
    "KEY_PATTERN",
    "LEVELS",
    "NAME_MAX",
    "OWNER_ROLES",
    "UNITS_OF_MEASURE",
    "KpiData",
    "KpiError",
    "can_define_in_scope",
    "can_view_scope",
    "format_kpi_value",
    "parse_number",
    "required_locales",
    "validate_kpi",
    "value_formatter",
]

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
"""Keys are stable identifiers for the API and reports: ``cost_per_lead``."""
NAME_MAX = 200
"""Longest KPI name."""
TEXT_MAX = 4000
"""Longest description or measurement text."""
NUMBER_LIMIT = Decimal("1e15")
"""Largest magnitude of a target or bound."""

LEVELS: dict[str, object] = {
    "central": _l("Central"),
    "local": _l("Local"),
    "campaign": _l("Campaign"),
}
"""The three levels of the KPI system, in display order."""

LEVEL_HINTS: dict[str, object] = {
    "central": _l("Overall performance across all units, comparable between them."),
    "local": _l("Performance per market or unit, measured against central targets."),
    "campaign": _l("Single campaigns and measures: interaction and customer-journey data."),
}
"""What each level is for (shown under its heading)."""

UNITS_OF_MEASURE: dict[str, object] = {
    "count": _l("Count"),
    "percent": _l("Percent"),
    "currency": _l("Amount of money"),
    "ratio": _l("Ratio"),
    "score": _l("Score"),
    "days": _l("Days"),
}
"""How a KPI's values are expressed."""

DIRECTIONS: dict[str, object] = {
    "higher": _l("Higher is better"),
    "lower": _l("Lower is better"),
}
"""Which way a KPI improves."""

OWNER_ROLES: tuple[str, ...] = TENANT_ROLES
"""Roles that can own a KPI (labels in ``identity.roles.ROLE_LABELS``)."""


class KpiError(ValueError):
    """A KPI change that breaks rules; ``errors`` maps form fields to messages.

    Field names are those of the form: ``key``, ``level``, ``name-<locale>``, ``form``
    for problems of the whole definition, …
    """

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass
class KpiData:
    """The editable fields of a KPI definition."""

    key: str
    """Stable identifier (lower case, digits, underscores)."""
    level: str
    """``central``, ``local`` or ``campaign``."""
    unit_of_measure: str
    """One of :data:`UNITS_OF_MEASURE`."""
    direction: str
    """``higher`` or ``lower`` is better."""
    owner_role: str
    """The role that answers for the KPI."""
    measurement: str = ""
    """How it is measured: formula, data source, frequency."""
    mandatory: bool = False
    """Every unit in scope must follow it; locals cannot opt out or shadow it."""
    bounds: Bounds = field(default_factory=Bounds)
    """Limits for local target overrides."""
    names: dict[str, str] = field(default_factory=dict)
    """Locale → name."""
    descriptions: dict[str, str] = field(default_factory=dict)
    """Locale → description."""


def parse_number(text: str | None) -> Decimal | None:
    """A number typed in the current locale (``1.234,5`` in German); ``None`` if empty.

    Raises :class:`ValueError` for text that is not a number.
    """
    raw = (text or "").strip().removesuffix("%")
    raw = raw.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not raw:
        return None
    try:
        # strict: "12.5" in German is not read as 125 (wrong grouping) but as 12.5 below.
        value = parse_decimal(raw, locale=current_locale(), strict=True)
    except NumberFormatError:
        try:
            value = Decimal(raw)
        except InvalidOperation as exc:
            raise ValueError(raw) from exc
    if not value.is_finite() or abs(value) >= NUMBER_LIMIT:
        raise ValueError(raw)
    return value


def required_locales(tenant_locales: list[str], scope_locale: str | None) -> list[str]:
    """Languages a name is required in.

    Central KPIs (``scope_locale`` ``None``) are defined uniformly in every tenant
    language. A local addition needs the tenant's default language (the first) and the
    language of its unit; the other languages fall back to the default.
    """
    if scope_locale is None:
        return list(tenant_locales)
    wanted = tenant_locales[:1] + ([scope_locale] if scope_locale in tenant_locales else [])
    return list(dict.fromkeys(wanted))


def validate_kpi(
    data: KpiData,
    *,
    tenant_locales: list[str],
    scope_locale: str | None = None,
    is_local: bool = False,
) -> KpiData:
    """Normalise and check a definition; raises :class:`KpiError` with every problem."""
    errors: dict[str, str] = {}
    data.key = data.key.strip().lower()
    data.measurement = data.measurement.replace("\r\n", "\n").strip()
    if not KEY_PATTERN.fullmatch(data.key):
        errors["key"] = _(
            "Use 1–64 lower-case letters, digits or underscores, starting with a letter."
        )
    if data.level not in LEVELS:
        errors["level"] = _("Choose a level from the list.")
    elif is_local and data.level == "central":
        errors["level"] = _(
            "A unit's own KPI cannot be of the central level: central KPIs are defined by"
            " headquarters for every unit."
        )
    if data.unit_of_measure not in UNITS_OF_MEASURE:
        errors["unit_of_measure"] = _("Choose a unit of measure from the list.")
    if data.direction not in DIRECTIONS:
        errors["direction"] = _("Choose whether higher or lower values are better.")
    if data.owner_role not in OWNER_ROLES:
        errors["owner_role"] = _("Choose the role that owns this KPI.")
    if len(data.measurement) > TEXT_MAX:
        errors["measurement"] = _("Keep this to %(max)s characters.", max=TEXT_MAX)
    bounds = data.bounds
    if bounds.max_deviation_pct is not None and not (
        Decimal(0) <= bounds.max_deviation_pct <= Decimal(1000)
    ):
        errors["max_deviation_pct"] = _("Enter a percentage between 0 and 1000.")
    if (
        bounds.min_value is not None
        and bounds.max_value is not None
        and bounds.min_value > bounds.max_value
    ):
        errors["max_value"] = _("The highest allowed target cannot be below the lowest.")
    names = {k: v.strip() for k, v in data.names.items() if k in tenant_locales}
    descriptions = {
        k: v.replace("\r\n", "\n").strip()
        for k, v in data.descriptions.items()
        if k in tenant_locales
    }
    for locale in required_locales(tenant_locales, scope_locale):
        if not names.get(locale):
            errors[f"name-{locale}"] = _("Give the KPI a name in this language.")
    for locale, name in names.items():
        if len(name) > NAME_MAX:
            errors[f"name-{locale}"] = _("Keep the name to %(max)s characters.", max=NAME_MAX)
    for locale, text in descriptions.items():
        if len(text) > TEXT_MAX:
            errors[f"description-{locale}"] = _("Keep this to %(max)s characters.", max=TEXT_MAX)
    if errors:
        raise KpiError(errors)
    data.names = {k: v for k, v in names.items() if v}
    data.descriptions = {k: v for k, v in descriptions.items() if v}
    return data


def can_view_scope(principal: Principal, scope_path: str | None) -> bool:
    """May see KPIs of this scope: central ones every member; a unit's local ones the
    people of its subtree (it applies to them) and of the units above it."""
    if scope_path is None:
        return principal.is_member
    return any(
        Permission.VIEW in permissions_of(g.role)
        and (g.unit_path.startswith(scope_path) or scope_path.startswith(g.unit_path))
        for g in principal.grants
    )


def can_define_in_scope(
    principal: Principal, scope_path: str | None, root_path: str | None
) -> bool:
    """May create or change definitions of this scope (central: governance at the HQ)."""
    path = scope_path if scope_path is not None else root_path
    return path is not None and principal.can(Permission.MANAGE_GOVERNANCE, path)


def format_kpi_value(value: Decimal | None, unit_of_measure: str, currency: str = "EUR") -> str:
    """A target or bound in the current locale, as its unit of measure asks (Babel).

    Results are cached per value, unit, currency and locale: a targets table of hundreds
    of units shows the same few values many times, and Babel formatting is not cheap.
    """
    if value is None:
        return "—"
    return _format_cached(str(value), unit_of_measure, currency, current_locale())


@lru_cache(maxsize=4096)
def _format_cached(text: str, unit_of_measure: str, currency: str, locale: str) -> str:
    value = Decimal(text)
    with use_locale(locale):
        if unit_of_measure == "percent":
            return format_share(value)
        if unit_of_measure == "currency":
            return format_currency(value, currency)
        if unit_of_measure == "ratio":
            return format_decimal(value, 2)
        if unit_of_measure == "days":
            return ngettext(
                "%(value)s day", "%(value)s days", int(abs(value)), value=format_number(value)
            )
        return format_number(value)


def value_formatter(unit_of_measure: str, currency: str = "EUR") -> Callable[[Decimal], str]:
    """:func:`format_kpi_value` bound to a KPI's unit of measure."""

    def fmt(value: Decimal) -> str:
        return format_kpi_value(value, unit_of_measure, currency)

    return fmt
