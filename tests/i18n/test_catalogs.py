"""The gettext catalogs: complete, consistent with the code, compiled and loadable."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from babel.support import Translations

from scalemark import PROJECT_ROOT
from scalemark.i18n.catalogs import catalog_problems, fill_source_catalog, main, placeholders
from scalemark.i18n.locale import LOCALES_DIR

LANGUAGES = ("en", "de", "fr", "es", "it")
POT_PATH = LOCALES_DIR / "messages.pot"
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    "_lp": ((1, "c"), 2),
    "lazy_pgettext": ((1, "c"), 2),
}
"""What ``pybabel extract`` looks for with the Makefile's ``BABEL_KEYWORDS``."""
SKIPPED_DIRS = {"node_modules", "locales", "static", "migrations", "tenants"}
"""Directories babel.cfg never maps; walking them (``.venv``, e2e packages) is only slow."""

LANGUAGE_WORD = {
    "en": "Language",
    "de": "Sprache",
    "fr": "Langue",
    "es": "Idioma",
    "it": "Lingua",
}


def po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, ignore_obsolete=True)


def keys(catalog: Catalog) -> set[tuple[str | None, str | tuple[str, ...]]]:
    """(context, msgid) of every entry, plural ids as tuples."""
    return {
        (message.context, tuple(message.id) if isinstance(message.id, list) else message.id)
        for message in catalog
        if message.id
    }


def extract_from_sources() -> Catalog:
    """What ``pybabel extract -F babel.cfg`` would write today, kept in memory."""
    with (PROJECT_ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")

    def descend(dirpath: str) -> bool:
        name = Path(dirpath).name
        return not name.startswith((".", "_")) and name not in SKIPPED_DIRS

    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        PROJECT_ROOT,
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=descend,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


@pytest.fixture(scope="module")
def template_keys() -> set[tuple[str | None, str | tuple[str, ...]]]:
    assert POT_PATH.is_file(), f"{POT_PATH} is missing: run `make i18n`"
    return keys(read_catalog(POT_PATH))


def test_template_is_up_to_date(
    template_keys: set[tuple[str | None, str | tuple[str, ...]]],
) -> None:
    extracted = keys(extract_from_sources())
    assert extracted, "nothing extracted: is babel.cfg's method map still right?"
    missing = sorted(map(repr, extracted - template_keys))
    assert not missing, (
        "messages in the code but not in locales/messages.pot (run `make i18n`, then "
        "translate):\n" + "\n".join(missing)
    )


def test_template_has_no_stale_messages(
    template_keys: set[tuple[str | None, str | tuple[str, ...]]],
) -> None:
    stale = sorted(map(repr, template_keys - keys(extract_from_sources())))
    assert not stale, (
        "messages in locales/messages.pot that the code no longer uses (run `make i18n`):\n"
        + "\n".join(stale)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_exists(language: str) -> None:
    assert po_path(language).is_file(), f"no catalog for {language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_no_problems(language: str) -> None:
    problems = catalog_problems(po_path(language))
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_every_template_message(
    language: str, template_keys: set[tuple[str | None, str | tuple[str, ...]]]
) -> None:
    missing = sorted(map(repr, template_keys - keys(read_catalog(po_path(language)))))
    assert not missing, (
        f"messages of locales/messages.pot missing from the {language} catalog "
        "(run `make i18n`, then translate):\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_plural_forms_match_the_language(language: str) -> None:
    catalog = read_catalog(po_path(language))
    expected = get_plural(language)
    assert catalog.num_plurals == expected.num_plurals
    assert catalog.plural_expr == expected.plural_expr


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_translates(language: str, compiled_catalogs: Path) -> None:
    assert (compiled_catalogs / language / "LC_MESSAGES" / "messages.mo").is_file()
    translations = Translations.load(str(compiled_catalogs), [language], domain="messages")
    assert isinstance(translations, Translations), "the .mo file did not load"
    assert translations.gettext("Language") == LANGUAGE_WORD[language]
    assert "ACME" in translations.gettext("All units of %(name)s") % {"name": "ACME"}


TINY_PO = """\
msgid ""
msgstr ""
"Language: de\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Fine"
msgstr "Gut"

msgid "Hello %(name)s"
msgstr "Hallo %(name)s"

#, fuzzy
msgid "Fuzzy"
msgstr "Flauschig"

msgid "Empty"
msgstr ""

#, python-format
msgid "Units of %(name)s"
msgstr "Einheiten von %(nom)s"

msgid "%s of %s"
msgstr "%s von"

msgid "100%% sure"
msgstr "100%% sicher"

msgid "%(num)d unit"
msgid_plural "%(num)d units"
msgstr[0] "Eine Einheit"
msgstr[1] "%(num)d Einheiten"

msgid "%(num)d brand"
msgid_plural "%(num)d brands"
msgstr[0] "%(num)d Marke"
msgstr[1] "%(count)d Marken"

msgid "%(num)d region"
msgid_plural "%(num)d regions"
msgstr[0] "Eine Region"
msgstr[1] "Regionen"

msgid "%(num)d team"
msgid_plural "%(num)d teams"
msgstr[0] "%(num)d Team"
msgstr[1] ""

#~ msgid "Gone"
#~ msgstr ""
"""


def test_catalog_problems_flags_bad_entries(tmp_path: Path) -> None:
    path = tmp_path / "messages.po"
    path.write_text(TINY_PO, encoding="utf-8")

    problems = catalog_problems(path)

    def flagged(msgid: str) -> list[str]:
        return [problem for problem in problems if problem.endswith(repr(msgid))]

    assert all(problem.startswith(f"{path}:") for problem in problems)
    assert "fuzzy" in " ".join(flagged("Fuzzy"))
    assert "untranslated" in " ".join(flagged("Empty"))
    assert "placeholders differ" in " ".join(flagged("Units of %(name)s"))
    assert "%(nom)s" in " ".join(flagged("Units of %(name)s"))
    assert "placeholders differ" in " ".join(flagged("%s of %s"))
    assert "plural form 1" in " ".join(flagged("%(num)d brand"))
    assert "plural form 1 (none)" in " ".join(flagged("%(num)d region"))
    assert "untranslated plural form(s) 1" in " ".join(flagged("%(num)d team"))
    for fine in ("Fine", "Hello %(name)s", "100%% sure", "%(num)d unit", "Gone"):
        assert not flagged(fine), problems
    assert len(problems) == 7, problems


def test_catalog_problems_flags_fuzzy_header_and_unreadable_file(tmp_path: Path) -> None:
    fuzzy = tmp_path / "fuzzy.po"
    fuzzy.write_text('#, fuzzy\nmsgid ""\nmsgstr ""\n"Language: de\\n"\n', encoding="utf-8")
    assert any("header is marked fuzzy" in problem for problem in catalog_problems(fuzzy))

    broken = tmp_path / "broken.po"
    broken.write_text(
        'msgid "a"\nmsgid_plural "as"\nmsgstr[0] "x"\nmsgstr[5] "y"\n', encoding="utf-8"
    )
    assert any("cannot be read" in problem for problem in catalog_problems(broken))


def test_placeholders_ignore_literal_percent() -> None:
    assert placeholders("100%% of %(name)s, %s and %d") == (
        frozenset({"%(name)s"}),
        ("%s", "%d"),
    )


SOURCE_PO = """\
msgid ""
msgstr ""
"Language: en\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Language"
msgstr ""

#, fuzzy
msgid "Unit"
msgstr "Old unit"

msgid "%(num)d unit"
msgid_plural "%(num)d units"
msgstr[0] ""
msgstr[1] ""
"""


def test_fill_source_catalog(tmp_path: Path) -> None:
    path = tmp_path / "messages.po"
    path.write_text(SOURCE_PO, encoding="utf-8")

    assert fill_source_catalog(path) == 3
    assert catalog_problems(path) == []
    catalog = read_catalog(path)
    assert catalog["Language"].string == "Language"
    assert catalog["Unit"].string == "Unit"
    assert not catalog["Unit"].fuzzy
    assert catalog["%(num)d unit"].string == ("%(num)d unit", "%(num)d units")

    before = path.read_bytes()
    assert fill_source_catalog(path) == 0
    assert path.read_bytes() == before


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locales = tmp_path / "locales"
    (locales / "en" / "LC_MESSAGES").mkdir(parents=True)
    en = locales / "en" / "LC_MESSAGES" / "messages.po"
    en.write_text(SOURCE_PO, encoding="utf-8")

    assert main(["check", str(locales)]) == 1
    assert "untranslated: 'Language'" in capsys.readouterr().err

    assert main(["fill-en", str(en)]) == 0
    assert main(["check", str(locales)]) == 0
    assert "1 catalog(s) complete" in capsys.readouterr().out
