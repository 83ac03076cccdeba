"""The organisation's look on reports: a cover logo and an accent colour.

Rules are plain functions (:func:`check_logo`, :func:`parse_accent`, :func:`contrast_ratio`);
the rest reads and writes the tenant's single ``branding`` row and audits every change.

A logo is a PNG, JPEG or SVG of at most 1 MB, recognised by its first bytes (never by the
file name or the browser's claim). An SVG is accepted only when it parses as XML with an
``<svg>`` root and holds nothing active: no DOCTYPE or entities, no ``<script>`` or
``<foreignObject>``, no ``on…`` event attributes, no links other than to its own
fragments (``#id``) and no ``url(…)``/``@import`` pointing outside in styles. The accent
colour must reach a contrast of 4.5:1 against white, because the report sets white text
on it and coloured text on white.
"""

from __future__ import annotations

import math
import re
import xml.parsers.expat
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from scalemark.db import tenant_transaction
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n.formatting import format_decimal
from scalemark.identity import audit

__all__ = [
    "LOGO_MAX_BYTES",
    "LOGO_MEDIA_TYPES",
    "MIN_CONTRAST",
    "Branding",
    "BrandingError",
    "check_logo",
    "check_svg",
    "contrast_ratio",
    "get_branding",
    "parse_accent",
    "remove_logo",
    "save_accent",
    "save_logo",
    "sniff_media_type",
]

LOGO_MAX_BYTES = 1024 * 1024
"""Largest logo accepted (the table's check allows the same)."""
LOGO_MEDIA_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
"""Formats a logo may have."""
MIN_CONTRAST = 4.5
"""WCAG AA contrast for normal text, against white."""
WHITE = "#ffffff"

_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
_SVG_NS = "http://www.w3.org/2000/svg"
_FORBIDDEN_ELEMENTS = frozenset({"script", "foreignobject", "iframe", "embed", "object"})
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^)'\"\s]*)", re.IGNORECASE)


class BrandingError(ValueError):
    """A logo or colour that breaks a rule; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Branding:
    """The tenant's branding; every part is optional."""

    logo: bytes | None = None
    logo_media_type: str | None = None
    accent_colour: str | None = None
    """``#rrggbb`` (lower case) or None for the product's default."""
    updated_at: datetime | None = None
    """Last change (None: never set); part of a report's fingerprint."""

    @property
    def has_logo(self) -> bool:
        """A logo is stored."""
        return self.logo is not None and self.logo_media_type is not None


# -- rules --------------------------------------------------------------------------------


def sniff_media_type(data: bytes) -> str | None:
    """The logo format by its first bytes: PNG, JPEG, or SVG (XML with an ``<svg`` root)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in head:
        return "image/svg+xml"
    return None


def _local(name: str) -> str:
    """The local part of an expat name (``ns local`` with namespace processing)."""
    return name.rsplit(" ", 1)[-1].lower()


def _external(reference: str) -> bool:
    """A reference leaving the document (anything but ``#fragment`` or empty)."""
    value = reference.strip()
    return bool(value) and not value.startswith("#")


def check_svg(data: bytes) -> None:
    """Accept an SVG only if it parses and holds no scripts or outside references."""
    unsafe = BrandingError(
        "logo", _l("This SVG contains scripts or links to other files; use a plain SVG.")
    )
    broken = BrandingError("logo", _l("This SVG file cannot be read."))
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    root: list[str] = []
    style: list[str] | None = None  # text of the <style> element being read

    def refuse(*_args: Any) -> NoReturn:
        raise unsafe

    def refuse_entity(*_args: Any) -> int:
        raise unsafe

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal style
        local = _local(name)
        if not root:
            root.append(name)
        if local in _FORBIDDEN_ELEMENTS:
            raise unsafe
        for key, value in attributes.items():
            attr = _local(key)
            if attr.startswith("on") or "javascript:" in value.lower().replace(" ", ""):
                raise unsafe
            if attr in {"href", "src"} and _external(value):
                raise unsafe
            if attr == "style" and _leaves_document(value):
                raise unsafe
        style = [] if local == "style" else None

    def end(name: str) -> None:
        nonlocal style
        # Character data may arrive in pieces: check the whole style sheet at its end.
        if style is not None and _leaves_document("".join(style)):
            raise unsafe
        style = None

    def text(content: str) -> None:
        if style is not None:
            style.append(content)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_entity
    parser.ProcessingInstructionHandler = refuse  # e.g. <?xml-stylesheet href=…?>
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except BrandingError:
        raise
    except (xml.parsers.expat.ExpatError, ValueError, UnicodeError):
        raise broken from None
    if not root or root[0] not in {f"{_SVG_NS} svg", "svg"}:
        raise broken


def _leaves_document(css: str) -> bool:
    """CSS that loads something from outside the SVG (``@import``, ``url(http…)``)."""
    lowered = css.lower()
    if "@import" in lowered or "expression(" in lowered or "javascript:" in lowered:
        return True
    return any(_external(target) for target in _CSS_URL.findall(css))


def check_logo(data: bytes) -> str:
    """The logo's media type, or :class:`BrandingError` saying what is wrong with it."""
    if not data:
        raise BrandingError("logo", _l("Choose an image file to upload."))
    if len(data) > LOGO_MAX_BYTES:
        raise BrandingError("logo", _l("The logo is larger than 1 MB; please use a smaller file."))
    media_type = sniff_media_type(data)
    if media_type is None:
        raise BrandingError("logo", _l("The logo must be a PNG, JPEG or SVG image."))
    if media_type == "image/svg+xml":
        check_svg(data)
    return media_type


def _luminance(colour: str) -> float:
    """Relative luminance of ``#rrggbb`` (WCAG 2.x)."""
    channels = []
    for start in (1, 3, 5):
        value = int(colour[start : start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str = WHITE) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def parse_accent(raw: str) -> str | None:
    """``#rrggbb`` in lower case (a missing ``#`` is added); empty means the default.

    Raises :class:`BrandingError` for a malformed colour or one too light on white.
    """
    text = (raw or "").strip()
    if not text:
        return None
    match = _HEX_COLOUR.fullmatch(text)
    if match is None:
        raise BrandingError(
            "accent_colour", _l("Enter the colour as # and six hexadecimal digits, e.g. #1f4fa3.")
        )
    colour = "#" + match.group(1).lower()
    ratio = contrast_ratio(colour)
    if ratio < MIN_CONTRAST:
        raise BrandingError(
            "accent_colour",
            _l(
                "This colour is too light: its contrast with white is %(ratio)s:1, at least"
                " 4.5:1 is needed so text stays readable. Choose a darker shade."
            )
            # Rounded down, so a colour just below the limit never reads as 4.5.
            % {"ratio": format_decimal(math.floor(ratio * 10) / 10, 1)},
        )
    return colour


# -- storage ------------------------------------------------------------------------------


async def get_branding() -> Branding:
    """The current tenant's branding (all parts None when nothing is set)."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            "SELECT logo, logo_media_type, accent_colour, updated_at FROM branding WHERE id = 1"
        )
    if row is None:
        return Branding()
    return Branding(
        logo=None if row["logo"] is None else bytes(row["logo"]),
        logo_media_type=row["logo_media_type"],
        accent_colour=None if row["accent_colour"] is None else row["accent_colour"].strip(),
        updated_at=row["updated_at"],
    )


def _summary(found: Branding) -> dict[str, Any]:
    """What the audit log keeps of the branding (never the image itself)."""
    return {
        "logo": None
        if not found.has_logo
        else {"type": found.logo_media_type, "bytes": len(found.logo or b"")},
        "accent_colour": found.accent_colour,
    }


async def _write(column_values: dict[str, Any], action: str) -> Branding:
    """Upsert the given columns of the one branding row and audit the change."""
    names = list(column_values)
    placeholders = ", ".join(f"${i + 1}" for i in range(len(names)))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names)
    async with tenant_transaction() as conn:
        before = await get_branding()
        await conn.execute(
            f"INSERT INTO branding (id, {', '.join(names)}) VALUES (1, {placeholders})"
            f" ON CONFLICT (id) DO UPDATE SET {updates}, updated_at = now()",
            *column_values.values(),
        )
        after = await get_branding()
        await audit.record(
            action,
            object_type="branding",
            object_id=1,
            before=_summary(before),
            after=_summary(after),
        )
    return after


async def save_logo(data: bytes) -> Branding:
    """Check and store a new logo (replacing any earlier one)."""
    media_type = check_logo(data)
    return await _write({"logo": data, "logo_media_type": media_type}, "branding.logo")


async def remove_logo() -> Branding:
    """Remove the logo (reports show the organisation's name only)."""
    return await _write({"logo": None, "logo_media_type": None}, "branding.logo_remove")


async def save_accent(raw: str) -> Branding:
    """Check and store the accent colour (empty: back to the default)."""
    colour = parse_accent(raw)
    return await _write({"accent_colour": colour}, "branding.accent")
