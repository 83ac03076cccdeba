"""Babel formatting in the current locale, exposed to templates as filters."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel import Locale, dates, numbers

from scalemark.i18n.locale import current_locale

__all__ = [
    "FILTERS",
    "format_currency",
    "format_date",
    "format_datetime",
    "format_decimal",
    "format_number",
    "format_percent",
]

Number = int | float | Decimal


def format_number(value: Number) -> str:
    """Grouped integer or decimal: 1.234,5 in German."""
    return numbers.format_decimal(value, locale=current_locale())


def format_decimal(value: Number, digits: int = 1) -> str:
    """Fixed number of fraction digits."""
    pattern = "#,##0." + "0" * digits if digits > 0 else "#,##0"
    return numbers.format_decimal(value, format=pattern, locale=current_locale())


def format_percent(value: Number, digits: int = 0) -> str:
    """A ratio (0.42) as a percentage: 42 % in German, with the locale's own spacing."""
    locale = Locale.parse(current_locale())
    pattern = locale.percent_formats[None].pattern
    if digits > 0:
        head, zero, tail = pattern.rpartition("0")
        pattern = f"{head}{zero}.{'0' * digits}{tail}"
    return numbers.format_percent(value, format=pattern, locale=locale)


def format_currency(value: Number, currency: str = "EUR") -> str:
    """An amount in a currency."""
    return numbers.format_currency(value, currency, locale=current_locale())


def format_date(value: date | datetime, style: str = "medium") -> str:
    """A date in the locale's style."""
    return dates.format_date(value, format=style, locale=current_locale())


def format_datetime(value: datetime, style: str = "medium", tz: str | None = None) -> str:
    """A timestamp in the locale's style, optionally converted to a time zone."""
    zone = dates.get_timezone(tz) if tz else None
    return dates.format_datetime(value, format=style, tzinfo=zone, locale=current_locale())


FILTERS: dict[str, Any] = {
    "number": format_number,
    "decimal": format_decimal,
    "percent": format_percent,
    "currency": format_currency,
    "date": format_date,
    "datetime": format_datetime,
}
"""Jinja filter name → function."""
