"""Small building blocks shared by the SVG charts: text, numbers, the root element, markers.

The charts are plain strings put together here and in each chart module; nothing in this
module runs per chart element in a way that would matter for a 500-row heatmap except
``text_width`` (a dictionary lookup per character).

Text widths are estimated from DejaVu Sans advance widths (the first font in ``FONT``, and
the one WeasyPrint finds on the servers) because the server cannot measure text; the
estimate decides where labels wrap, where they are cut with an ellipsis and how large the
``viewBox`` must be so nothing is clipped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

from markupsafe import Markup, escape

from scalemark.i18n import gettext as _

__all__ = [
    "FONT",
    "GRID",
    "INK",
    "MUTED",
    "Bounds",
    "aligned_values",
    "clean",
    "contrast_ratio",
    "default_format",
    "describe_table",
    "empty_chart",
    "esc",
    "marker",
    "num",
    "relative_luminance",
    "svg_open",
    "text_width",
    "truncate",
    "wrap",
]

FONT = "'DejaVu Sans', 'Segoe UI', system-ui, sans-serif"
INK = "#1b2430"  # body text, 15.6:1 on white
MUTED = "#59636e"  # secondary text (scale figures), 6.1:1 on white
GRID = "#c3cad3"  # grid lines and tracks: decoration, not text

# DejaVu Sans advance widths in em, measured per character; anything not listed counts
# as an average lower-case letter, East Asian scripts as a full em.
_WIDTHS: dict[str, float] = {}
for _chars, _width in (
    ("'", 0.27),
    ("ijl", 0.28),
    ("IJ", 0.29),
    (" ,.", 0.32),
    ("/:;\\|", 0.34),
    ("f", 0.35),
    ("-", 0.36),
    ("()[]t", 0.39),
    ("!", 0.4),
    ("r", 0.41),
    ('"', 0.46),
    ("*_`–", 0.5),
    ("sz", 0.52),
    ("?", 0.53),
    ("cç", 0.55),
    ("L", 0.56),
    ("Fk", 0.58),
    ("vxy", 0.59),
    ("P", 0.6),
    ("TYaoäöà", 0.61),
    ("eéè", 0.62),
    ("ESbdghnpquüß", 0.63),
    ("0123456789${}", 0.64),
    ("K", 0.66),
    ("AVÄ", 0.68),
    ("BRXZ", 0.69),
    ("C", 0.7),
    ("UÜ", 0.73),
    ("HN", 0.75),
    ("DG", 0.77),
    ("&", 0.78),
    ("OQÖ", 0.79),
    ("w", 0.82),
    ("#+<=>^~", 0.84),
    ("M", 0.86),
    ("%", 0.95),
    ("m", 0.97),
    ("W@…", 1.0),
):
    for _char in _chars:
        _WIDTHS[_char] = _width
_AVERAGE = 0.63
_WIDE = 1.0

# Characters XML 1.0 does not allow: a unit name pasted with a control character must not
# turn the whole page (or the PDF) into a parse error.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def default_format(value: float) -> str:
    """``3`` for whole numbers, ``3.5`` otherwise (the same rule as the bar chart)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def clean(text: object) -> str:
    """``text`` as a string without characters that XML forbids."""
    return _NOT_XML.sub("", str(text))


def esc(text: object) -> Markup:
    """``text`` cleaned and escaped for use in element content or an attribute value."""
    return escape(clean(text))


def num(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _char_width(char: str) -> float:
    width = _WIDTHS.get(char)
    if width is None:
        return _WIDE if char >= "\u2e80" else _AVERAGE
    return width


def text_width(text: str, font_size: float) -> float:
    """Estimated rendered width of ``text`` in user units at ``font_size``."""
    try:
        return sum(map(_WIDTHS.__getitem__, text)) * font_size  # the common, all-known case
    except KeyError:
        return sum(map(_char_width, text)) * font_size


def truncate(text: str, max_width: float, font_size: float) -> str:
    """``text``, cut and ended with an ellipsis if it would be wider than ``max_width``."""
    if text_width(text, font_size) <= max_width:
        return text
    room = (max_width / font_size) - _char_width("…")
    used = 0.0
    end = 0
    for end, char in enumerate(text):  # noqa: B007 - ``end`` is used after the loop
        used += _char_width(char)
        if used > room:
            break
    return text[:end].rstrip() + "…"


def wrap(text: str, max_width: float, font_size: float, max_lines: int = 2) -> list[str]:
    """``text`` broken at spaces into at most ``max_lines`` lines of ``max_width``.

    A word longer than a line is cut with an ellipsis; so is the last line when the text
    needs more lines than allowed. Callers keep the full text in a ``<title>``/``<desc>``.
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if not current or text_width(candidate, font_size) <= max_width:
            current = candidate
            continue
        lines.append(current)
        current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        # The rest cannot fit one line (greedy wrapping split it), so it ends with "…".
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], truncate(rest, max_width, font_size)]
    return [truncate(line, max_width, font_size) for line in lines] or [""]


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    red, green, blue = (
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    )
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    high, low = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


class Bounds:
    """The smallest box holding everything drawn so far, for a ``viewBox`` that clips nothing."""

    def __init__(self) -> None:
        self.left = self.top = float("inf")
        self.right = self.bottom = float("-inf")

    def add(self, left: float, top: float, right: float, bottom: float) -> None:
        """Grow the box to hold the rectangle ``left, top`` – ``right, bottom``."""
        self.left = min(self.left, left, right)
        self.top = min(self.top, top, bottom)
        self.right = max(self.right, left, right)
        self.bottom = max(self.bottom, top, bottom)

    def add_text(
        self, x: float, baseline: float, text: str, font_size: float, anchor: str = "start"
    ) -> None:
        """Grow the box to hold one line of text drawn at ``x, baseline`` with ``anchor``."""
        width = text_width(text, font_size)
        left = x - width if anchor == "end" else x - width / 2 if anchor == "middle" else x
        self.add(left, baseline - font_size * 0.95, left + width, baseline + font_size * 0.25)

    def padded(self, padding: float) -> tuple[float, float, float, float]:
        """``min_x, min_y, width, height`` of the box with ``padding`` on every side."""
        return (
            self.left - padding,
            self.top - padding,
            self.right - self.left + 2 * padding,
            self.bottom - self.top + 2 * padding,
        )


def svg_open(
    ident: str,
    kind: str,
    box: tuple[float, float, float, float],
    *,
    title: str,
    desc: str,
    role: str = "img",
    font_size: int = 12,
) -> str:
    """The root ``<svg>`` start tag with its ``<title>`` and ``<desc>``.

    ``ident`` must already be escaped. ``role="img"`` hides the drawing from assistive
    technology behind the title and description; charts with links pass ``role="group"``
    so the links stay reachable.
    """
    min_x, min_y, width, height = (round(v, 1) for v in box)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart--{kind}" id="{ident}"'
        f' viewBox="{num(min_x)} {num(min_y)} {num(width)} {num(height)}" width="100%"'
        f' preserveAspectRatio="xMinYMin meet"'
        f' role="{role}" aria-labelledby="{ident}-title {ident}-desc"'
        f' style="max-width: {num(width)}px; height: auto;" font-family="{FONT}"'
        f' font-size="{font_size}">'
        f'<title id="{ident}-title">{esc(title)}</title>'
        f'<desc id="{ident}-desc">{esc(desc)}</desc>'
    )


def aligned_values(values: Sequence[float | None], count: int) -> list[float | None]:
    """Exactly ``count`` values: missing ones and non-numbers (NaN) become ``None``."""
    aligned: list[float | None] = []
    for index in range(count):
        value = values[index] if index < len(values) else None
        aligned.append(float(value) if value is not None and math.isfinite(value) else None)
    return aligned


def describe_table(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    table: Sequence[Sequence[float | None]],
    description: str | None,
    value_format: Callable[[float], str],
) -> str:
    """The chart's figures in words for its ``<desc>``: ``row: column: value, …. …``.

    ``description`` comes first when given. Each distinct value is formatted once, which
    matters for a 500-row heatmap.
    """
    pair = _("%(label)s: %(value)s")
    missing = _("no data")
    formatted: dict[float, str] = {}
    parts = [description] if description else []
    for row, values in zip(row_labels, table, strict=True):
        figures = []
        for column, value in zip(column_labels, values, strict=True):
            if value is None:
                shown = missing
            elif (shown_value := formatted.get(value)) is not None:
                shown = shown_value
            else:
                shown = formatted[value] = value_format(value)
            figures.append(pair % {"label": column, "value": shown})
        parts.append(pair % {"label": row, "value": ", ".join(figures)})
    return ". ".join(parts)


def empty_chart(ident: str, kind: str, *, title: str, desc: str, message: str, width: int) -> str:
    """A chart with nothing to draw: the title, the description and ``message`` in words."""
    height = 48
    return (
        svg_open(ident, kind, (0, 0, width, height), title=title, desc=desc)
        + f'<text x="{width / 2:g}" y="{height / 2 + 4:g}" text-anchor="middle"'
        f' fill="{MUTED}" aria-hidden="true">{esc(message)}</text></svg>'
    )


def marker(shape: str, x: float, y: float, size: float, attributes: str, title: str = "") -> str:
    """One data marker centred on ``x, y``; ``size`` is the half-width of its box.

    Shapes: ``circle``, ``square``, ``diamond``, ``triangle``, ``triangle-down``. The shape
    tells series apart where colour alone would not. ``title`` becomes a hover tooltip.
    """
    tooltip = f"<title>{esc(title)}</title>" if title else ""
    if shape == "circle":
        start = f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(size)}" {attributes}'
    elif shape == "square":
        side = size * 1.75
        start = (
            f'<rect x="{num(x - side / 2)}" y="{num(y - side / 2)}" width="{num(side)}"'
            f' height="{num(side)}" {attributes}'
        )
    else:
        start = f'<path d="{_outline(shape, x, y, size)}" {attributes}'
    return f"{start}>{tooltip}</{start[1 : start.index(' ')]}>"


def _outline(shape: str, x: float, y: float, size: float) -> str:
    if shape == "diamond":
        points: Iterable[tuple[float, float]] = (
            (x, y - size * 1.25),
            (x + size * 1.25, y),
            (x, y + size * 1.25),
            (x - size * 1.25, y),
        )
    elif shape == "triangle-down":
        points = ((x - size * 1.15, y - size), (x + size * 1.15, y - size), (x, y + size * 1.2))
    else:  # triangle
        points = ((x, y - size * 1.2), (x + size * 1.15, y + size), (x - size * 1.15, y + size))
    return "M" + " L".join(f"{num(px)},{num(py)}" for px, py in points) + " Z"
