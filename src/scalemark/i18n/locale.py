"""The current locale and gettext callables that follow it.

One Jinja environment serves every request, so translations are looked up per call from
a context variable instead of being installed globally.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from babel.support import LazyProxy, NullTranslations, Translations

from scalemark import PROJECT_ROOT
from scalemark.settings import get_settings

__all__ = [
    "LOCALE_NAMES",
    "current_locale",
    "gettext",
    "lazy_gettext",
    "lazy_pgettext",
    "ngettext",
    "parse_accept_language",
    "pgettext",
    "pick_locale",
    "supported_locales",
    "translations_for",
    "use_locale",
]

LOCALES_DIR = PROJECT_ROOT / "locales"

LOCALE_NAMES = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "it": "Italiano",
}
"""Each language named in itself, for the language switcher."""

_locale: ContextVar[str] = ContextVar("scalemark_locale", default="en")


def supported_locales() -> tuple[str, ...]:
    """Languages the product ships catalogs for."""
    return get_settings().locales


@lru_cache(maxsize=16)
def translations_for(locale: str) -> NullTranslations:
    """Compiled catalog of a locale (English is the source language)."""
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(LOCALES_DIR), [locale], domain="messages")


def current_locale() -> str:
    """Locale of this request or job."""
    return _locale.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Run a block in ``locale``."""
    token = _locale.set(locale if locale in supported_locales() else "en")
    try:
        yield
    finally:
        _locale.reset(token)


def set_locale(locale: str) -> None:
    """Set the locale for the rest of this context (a request's task)."""
    _locale.set(locale if locale in supported_locales() else "en")


def gettext(message: str, **variables: object) -> str:
    """Translate into the current locale; ``%(name)s`` placeholders are filled in."""
    text = translations_for(current_locale()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    """Plural-aware translation; ``num`` is available as a placeholder."""
    text = translations_for(current_locale()).ngettext(singular, plural, n)
    return text % {"num": n, **variables} if "%" in text else text


def pgettext(context: str, message: str, **variables: object) -> str:
    """Translate a word whose meaning depends on ``context`` (e.g. a status, not a verb)."""
    text = str(translations_for(current_locale()).pgettext(context, message))
    return text % variables if variables else text


def lazy_pgettext(context: str, message: str) -> LazyProxy:
    """:func:`pgettext` resolved when shown, for module-level texts."""
    return LazyProxy(pgettext, context, message, enable_cache=False)


def lazy_gettext(message: str) -> LazyProxy:
    """A translation resolved when shown, for module-level texts."""
    return LazyProxy(gettext, message, enable_cache=False)


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from ``Accept-Language`` ordered by quality (primary subtag only)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag.split("-")[0]))
    return [tag for _, _, tag in sorted(weighted)]


def pick_locale(
    *, user: str | None = None, tenant: str | None = None, accept_language: str | None = None
) -> str:
    """User setting, then tenant default, then the browser, then the platform default."""
    supported = supported_locales()
    for candidate in (user, tenant):
        if candidate in supported:
            return candidate
    for candidate in parse_accept_language(accept_language):
        if candidate in supported:
            return candidate
    fallback = get_settings().default_locale
    return fallback if fallback in supported else "en"
