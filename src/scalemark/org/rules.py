"""Validation rules for units: plain functions, no database."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies

from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n import ngettext

__all__ = [
    "UNIT_KINDS",
    "UnitData",
    "UnitError",
    "is_descendant_path",
    "kind_count_label",
    "timezone_choices",
    "validate_unit",
]

UNIT_KINDS: dict[str, object] = {
    "hq": _l("Headquarters"),
    "region": _l("Region"),
    "country": _l("Country"),
    "business_unit": _l("Business unit"),
    "brand": _l("Brand"),
    "team": _l("Team"),
}
"""Unit kinds and their labels, in tree order."""


def kind_count_label(kind: str, count: int) -> str:
    """``3 Regions`` in the current language (each kind spelled out for the catalogs)."""
    labels = {
        "hq": lambda n: ngettext("Headquarters", "Headquarters", n),
        "region": lambda n: ngettext("Region", "Regions", n),
        "country": lambda n: ngettext("Country", "Countries", n),
        "business_unit": lambda n: ngettext("Business unit", "Business units", n),
        "brand": lambda n: ngettext("Brand", "Brands", n),
        "team": lambda n: ngettext("Team", "Teams", n),
    }
    label = labels.get(kind)
    return label(count) if label else kind


_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")


class UnitError(ValueError):
    """A unit change that breaks a rule; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass
class UnitData:
    """The editable fields of a unit."""

    code: str
    """Short unique code, upper case (``DE``, ``DE-RETAIL``)."""
    name: str
    """Display name."""
    kind: str
    """One of :data:`UNIT_KINDS`."""
    locale: str = "en"
    """Default language of the unit's people."""
    timezone: str = "UTC"
    """IANA time zone."""
    currency: str = "EUR"
    """ISO 4217 code."""


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def timezone_choices() -> list[str]:
    """IANA time zones for select boxes, sorted."""
    return sorted(_timezones())


def _valid_locale(value: str) -> bool:
    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return False
    return True


def validate_unit(data: UnitData, *, is_root: bool) -> UnitData:
    """Normalise and check a unit; raises :class:`UnitError` naming the field."""
    data.code = data.code.strip().upper()
    data.name = data.name.strip()
    data.currency = data.currency.strip().upper()
    data.timezone = data.timezone.strip()
    data.locale = data.locale.strip()
    if not _CODE.fullmatch(data.code):
        raise UnitError("code", _l("Use 1–32 capital letters, digits, hyphens or underscores."))
    if not data.name or len(data.name) > 200:
        raise UnitError("name", _l("Give the unit a name of at most 200 characters."))
    if data.kind not in UNIT_KINDS:
        raise UnitError("kind", _l("Choose a kind of unit from the list."))
    if is_root != (data.kind == "hq"):
        raise UnitError("kind", _l("Only the root of the tree is the headquarters."))
    if not _valid_locale(data.locale):
        raise UnitError("locale", _l("Choose a known language."))
    if data.timezone not in _timezones():
        raise UnitError("timezone", _l("Choose a time zone such as Europe/Berlin."))
    if data.currency not in _currencies():
        raise UnitError("currency", _l("Use a three-letter currency code such as EUR."))
    return data


def is_descendant_path(candidate: str, ancestor: str) -> bool:
    """True when ``candidate`` lies in the subtree rooted at ``ancestor`` (or is it)."""
    return candidate.startswith(ancestor)
