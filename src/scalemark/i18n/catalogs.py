"""Checks and chores for the gettext catalogs under ``locales/``.

``python -m scalemark.i18n.catalogs check locales`` lists untranslated, fuzzy and
placeholder-broken entries of every catalog (exit status 1 if there are any);
``python -m scalemark.i18n.catalogs fill-en locales/en/LC_MESSAGES/messages.po`` copies
each msgid into its msgstr in the English (source language) catalog.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import PYTHON_FORMAT, Catalog, Message
from babel.messages.pofile import PoFileError, read_po, write_po

__all__ = [
    "catalog_problems",
    "fill_source_catalog",
    "find_catalogs",
    "main",
    "placeholders",
]

Placeholders = tuple[frozenset[str], tuple[str, ...]]
"""Named placeholders (``%(name)s``) as a set, positional ones (``%s``) in order."""


def placeholders(text: str) -> Placeholders:
    """The ``%``-format placeholders of ``text``; ``%%`` is a literal, not a placeholder."""
    named: set[str] = set()
    positional: list[str] = []
    for match in PYTHON_FORMAT.finditer(text):
        if match.group(3) == "%":
            continue
        if match.group(1) is not None:
            named.add(match.group(0))
        else:
            positional.append(match.group(0))
    return frozenset(named), tuple(positional)


def _describe(found: Placeholders) -> str:
    named, positional = found
    return ", ".join([*sorted(named), *positional]) or "none"


def _read(po_path: Path) -> Catalog:
    with po_path.open("rb") as handle:
        return read_po(handle, ignore_obsolete=True, abort_invalid=True)


def _plural_form_fits(index: int, form: str, msgids: Sequence[str]) -> bool:
    """Whether plural form ``index`` uses the placeholders it may.

    No form may add a placeholder the msgids lack, and the positional ones must be those of
    msgid or msgid_plural. Form 0 (the "one" form in every shipped language) may leave out
    named ones, as in German "Eine Einheit"; the other forms must keep all of
    msgid_plural's, or "%(num)d Einheiten" could silently lose its number.
    """
    named, positional = placeholders(form)
    ids = [placeholders(msgid) for msgid in msgids]
    if positional not in {found[1] for found in ids}:
        return False
    known: set[str] = set()
    for found in ids:
        known |= found[0]
    if not named <= known:
        return False
    return index == 0 or ids[-1][0] <= named


def _message_problems(where: str, message: Message, num_plurals: int) -> list[str]:
    """Problems of one (non-header, non-obsolete) entry."""
    label = repr(message.id[0] if isinstance(message.id, (list, tuple)) else message.id)
    if message.fuzzy:
        return [f"{where}: fuzzy: {label}"]
    if isinstance(message.id, (list, tuple)):
        forms = list(message.string) if isinstance(message.string, (list, tuple)) else []
        if len(forms) != num_plurals:
            return [f"{where}: expected {num_plurals} plural forms, got {len(forms)}: {label}"]
        empty = [str(index) for index, form in enumerate(forms) if not form]
        if empty:
            return [f"{where}: untranslated plural form(s) {', '.join(empty)}: {label}"]
        return [
            f"{where}: placeholders of plural form {index} ({_describe(placeholders(form))}) "
            f"do not fit msgid_plural ({_describe(placeholders(message.id[-1]))}): {label}"
            for index, form in enumerate(forms)
            if not _plural_form_fits(index, form, message.id)
        ]
    if not message.string:
        return [f"{where}: untranslated: {label}"]
    expected, found = placeholders(message.id), placeholders(str(message.string))
    if expected != found:
        return [
            f"{where}: placeholders differ (msgid: {_describe(expected)}; "
            f"msgstr: {_describe(found)}): {label}"
        ]
    return []


def catalog_problems(po_path: Path) -> list[str]:
    """Untranslated, fuzzy and placeholder-mismatched entries of a ``.po`` file.

    Obsolete (``#~``) entries are ignored. Each problem reads ``path:line: what: msgid``.
    """
    try:
        catalog = _read(po_path)
    except PoFileError as error:
        return [f"{po_path}: cannot be read: {error}"]
    problems: list[str] = []
    if catalog.fuzzy:
        problems.append(f"{po_path}: the header is marked fuzzy (pybabel compile skips it)")
    for message in catalog:
        if not message.id:
            continue
        where = f"{po_path}:{message.lineno}" if message.lineno else str(po_path)
        problems.extend(_message_problems(where, message, catalog.num_plurals))
    return problems


def fill_source_catalog(po_path: Path) -> int:
    """Set every msgstr to its msgid (all plural forms) in the source-language catalog.

    Fuzzy flags are dropped. The file is rewritten only if something changed; returns the
    number of entries changed.
    """
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    changed = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, (list, tuple)):
            singular, plural = message.id[0], message.id[-1]
            wanted: str | tuple[str, ...] = tuple([singular] + [plural] * (catalog.num_plurals - 1))
        else:
            wanted = message.id
        if message.string != wanted or message.fuzzy:
            message.string = wanted
            message.flags.discard("fuzzy")
            changed += 1
    if changed:
        catalog.revision_date = datetime.now(UTC)
        with po_path.open("wb") as handle:
            write_po(handle, catalog)
    return changed


def find_catalogs(paths: Iterable[Path]) -> list[Path]:
    """``.po`` files named directly or found as ``**/LC_MESSAGES/*.po`` under a directory."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.glob("**/LC_MESSAGES/*.po")))
        else:
            found.append(path)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``check PATH...`` or ``fill-en PO_FILE``."""
    parser = argparse.ArgumentParser(prog="python -m scalemark.i18n.catalogs")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="list problems of catalogs (exit 1 if any)")
    check.add_argument("paths", nargs="+", type=Path, help="locales directories or .po files")
    fill = commands.add_parser("fill-en", help="set msgstr = msgid in the English catalog")
    fill.add_argument("po_file", type=Path)
    args = parser.parse_args(argv)

    if args.command == "fill-en":
        if not args.po_file.is_file():
            print(f"{args.po_file}: no such file", file=sys.stderr)
            return 2
        changed = fill_source_catalog(args.po_file)
        print(f"{args.po_file}: {changed} entr{'y' if changed == 1 else 'ies'} filled")
        return 0

    catalogs = find_catalogs(args.paths)
    if not catalogs:
        print("no catalogs found", file=sys.stderr)
        return 2
    problems: list[str] = []
    for po_path in catalogs:
        if not po_path.is_file():
            problems.append(f"{po_path}: no such file")
            continue
        problems.extend(catalog_problems(po_path))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {len(catalogs)} catalog(s)", file=sys.stderr)
        return 1
    print(f"{len(catalogs)} catalog(s) complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
