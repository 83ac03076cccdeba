"""The one Jinja environment: i18n callables, Babel filters, globals."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)

from scalemark import PROJECT_ROOT
from scalemark.i18n.formatting import FILTERS
from scalemark.i18n.locale import LOCALE_NAMES, current_locale, translations_for
from scalemark.settings import get_settings

__all__ = ["get_environment", "render"]

TEMPLATES_DIR = PROJECT_ROOT / "templates"


def _gettext(message: str) -> str:
    return translations_for(current_locale()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations_for(current_locale()).ngettext(singular, plural, n)


def _pgettext(context: str, message: str) -> str:
    return str(translations_for(current_locale()).pgettext(context, message))


def _principal() -> Any:
    from scalemark.identity.principal import current_principal

    return current_principal()


def _per_render(func: Any) -> Any:
    """Evaluate a locale-dependent filter at render time.

    Jinja folds filters on literal values at compile time, in whatever locale is active
    then; a context filter is never folded.
    """

    @pass_context
    def filter_(_context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        return func(value, *args, **kwargs)

    filter_.__name__ = func.__name__
    return filter_


@lru_cache(maxsize=1)
def get_environment() -> Environment:
    """Build the environment once per process."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml", "svg"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        auto_reload=get_settings().debug,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, newstyle=True
    )
    env.filters.update({name: _per_render(func) for name, func in FILTERS.items()})
    env.globals.update(
        {
            "current_locale": current_locale,
            "locale_names": LOCALE_NAMES,
            "supported_locales": lambda: get_settings().locales,
            "base_domain": lambda: get_settings().base_domain,
            "principal": _principal,
        }
    )
    return env


def render(template: str, **context: Any) -> str:
    """Render outside a request handler (error pages, e-mails)."""
    return get_environment().get_template(template).render(**context)
