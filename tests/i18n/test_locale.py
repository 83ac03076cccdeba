"""Locale choice, gettext callables, Babel filters and the Jinja environment."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pytest

from scalemark.i18n import (
    current_locale,
    gettext,
    lazy_gettext,
    parse_accept_language,
    pick_locale,
    use_locale,
)
from scalemark.i18n.formatting import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    format_number,
    format_percent,
)
from scalemark.settings import get_settings
from scalemark.web.templating import get_environment

NBSP = "[\u00a0\u202f]"
"""The no-break spaces CLDR uses in numbers (U+00A0 or the narrow U+202F, by version)."""


@pytest.fixture
def default_locale(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change ``DEFAULT_LOCALE`` for one test; settings are re-read afterwards."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


# --- Accept-Language ----------------------------------------------------------------------


def test_accept_language_orders_by_quality() -> None:
    assert parse_accept_language("de;q=0.5, it;q=0.9, es") == ["es", "it", "de"]


def test_accept_language_keeps_header_order_for_equal_quality() -> None:
    assert parse_accept_language("fr, de, it;q=1") == ["fr", "de", "it"]


def test_accept_language_uses_primary_subtag_lowercased() -> None:
    assert parse_accept_language("de-CH, EN-gb;q=0.8, es-419;q=0.7") == ["de", "en", "es"]


def test_accept_language_browser_header() -> None:
    header = "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"
    assert parse_accept_language(header) == ["fr", "fr", "en", "de"]


@pytest.mark.parametrize("header", [None, "", "   ", ",,,", ";q=0.5", "*", "*;q=1"])
def test_accept_language_empty_or_wildcard(header: str | None) -> None:
    assert parse_accept_language(header) == []


def test_accept_language_drops_refused_and_garbage_quality() -> None:
    header = "de;q=0, fr;q=abc, es;q=-1, it;q=0.3, , en ; q=0.2"
    assert parse_accept_language(header) == ["it", "en"]


# --- Locale choice ------------------------------------------------------------------------


def test_pick_locale_user_wins() -> None:
    assert pick_locale(user="it", tenant="de", accept_language="fr") == "it"


def test_pick_locale_tenant_before_browser() -> None:
    assert pick_locale(tenant="de", accept_language="fr, es") == "de"


def test_pick_locale_browser_before_default() -> None:
    assert pick_locale(accept_language="pt-BR, es;q=0.8, de;q=0.9") == "de"


def test_pick_locale_ignores_unsupported_values() -> None:
    assert pick_locale(user="pt", tenant="de", accept_language="fr") == "de"
    assert pick_locale(user="xx", tenant="zz", accept_language="ja, es;q=0.1") == "es"
    assert pick_locale(user="", tenant=None, accept_language="ja, ko") == "en"


def test_pick_locale_falls_back_to_default(default_locale: pytest.MonkeyPatch) -> None:
    assert pick_locale() == "en"
    default_locale.setenv("DEFAULT_LOCALE", "fr")
    get_settings.cache_clear()
    assert pick_locale(accept_language="ja") == "fr"
    assert pick_locale(tenant="it", accept_language="ja") == "it"


def test_pick_locale_ignores_unsupported_default(default_locale: pytest.MonkeyPatch) -> None:
    default_locale.setenv("DEFAULT_LOCALE", "pt")
    get_settings.cache_clear()
    assert pick_locale() == "en"


def test_use_locale_nests_and_rejects_unsupported() -> None:
    assert current_locale() == "en"
    with use_locale("de"):
        assert current_locale() == "de"
        with use_locale("xx"):
            assert current_locale() == "en"
        assert current_locale() == "de"
    assert current_locale() == "en"


# --- gettext ------------------------------------------------------------------------------


def test_gettext_follows_current_locale() -> None:
    assert gettext("Language") == "Language"
    with use_locale("de"):
        assert gettext("Language") == "Sprache"
        assert gettext("All units of %(name)s", name="ACME") == "Alle Einheiten von ACME"
        assert gettext("Not in any catalog") == "Not in any catalog"
    with use_locale("es"):
        assert gettext("Unit") == "Unidad"


def test_lazy_gettext_resolves_when_used() -> None:
    label = lazy_gettext("Headquarters")  # created outside any locale, like module constants
    assert str(label) == "Headquarters"
    with use_locale("de"):
        assert str(label) == "Zentrale"
    with use_locale("fr"):
        assert str(label) == "Siège"
        assert f"{label}" == "Siège"
    with use_locale("it"):
        assert str(label) == "Sede centrale"
    assert str(label) == "Headquarters"


# --- Babel filters ------------------------------------------------------------------------


def test_number_in_german() -> None:
    with use_locale("de"):
        assert format_number(1234.5) == "1.234,5"
        assert format_number(1234567) == "1.234.567"
        assert format_decimal(Decimal("1234"), 2) == "1.234,00"
        assert format_decimal(2.25, 0) == "2"


def test_number_in_french_groups_with_no_break_space() -> None:
    with use_locale("fr"):
        assert re.fullmatch(f"1{NBSP}234,5", format_number(1234.5))


def test_percent() -> None:
    with use_locale("de"):
        assert re.fullmatch(f"42{NBSP}%", format_percent(0.42))
    with use_locale("fr"):
        assert re.fullmatch(f"42{NBSP}%", format_percent(0.42))
    with use_locale("en"):
        assert format_percent(0.42) == "42%"


def test_currency() -> None:
    with use_locale("fr"):
        assert re.fullmatch(f"1{NBSP}234,50{NBSP}€", format_currency(1234.5, "EUR"))
    with use_locale("de"):
        assert re.fullmatch(f"1\\.234,50{NBSP}€", format_currency(1234.5))
    with use_locale("en"):
        assert format_currency(1234.5, "EUR") == "€1,234.50"


def test_date_in_italian() -> None:
    day = date(2026, 3, 5)
    with use_locale("it"):
        assert format_date(day, "long") == "5 marzo 2026"
        assert format_date(day, "short") == "05/03/26"
    with use_locale("de"):
        assert format_date(day) == "05.03.2026"


def test_datetime_converts_to_time_zone() -> None:
    moment = datetime(2026, 3, 5, 12, 0)  # naive: UTC
    with use_locale("de"):
        text = format_datetime(moment, "short", tz="Europe/Berlin")
    assert text.startswith("05.03.26")
    assert "13:00" in text


# --- Jinja --------------------------------------------------------------------------------


def test_template_gettext_in_german() -> None:
    template = get_environment().from_string('{{ _("Language") }}')
    with use_locale("de"):
        assert template.render() == "Sprache"
    assert template.render() == "Language"


def test_template_gettext_escapes_placeholder_values() -> None:
    template = get_environment().from_string('{{ _("Sub-units of %(name)s", name=name) }}')
    with use_locale("fr"):
        assert template.render(name="R&D") == "Sous-unités de R&amp;D"


def test_template_filters_follow_locale() -> None:
    template = get_environment().from_string("{{ amount|number }} · {{ share|percent }}")
    with use_locale("de"):
        assert re.fullmatch(f"1\\.234,5 · 42{NBSP}%", template.render(amount=1234.5, share=0.42))
    with use_locale("it"):
        assert template.render(amount=1234.5, share=0.42) == "1.234,5 · 42%"


def test_template_filters_on_literals_follow_locale() -> None:
    with use_locale("de"):
        template = get_environment().from_string("{{ 1234.5|number }}")
    assert template.render() == "1,234.5"
