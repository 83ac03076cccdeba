"""Languages: per-request locale, gettext callables and Babel formatting."""

from scalemark.i18n.locale import (
    LOCALE_NAMES,
    current_locale,
    gettext,
    lazy_gettext,
    lazy_pgettext,
    ngettext,
    parse_accept_language,
    pgettext,
    pick_locale,
    supported_locales,
    use_locale,
)

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
    "use_locale",
]
