"""Heatmaps as inline SVG: a score per unit (row) and dimension (column).

Cells are coloured on a sequential single-hue scale, light blue (low) to dark blue (high):
it keeps its order for colour-blind readers and in greyscale print. Every cell also
prints its figure, in black on light cells and white on dark ones — whichever contrasts
more, which is always at least 4.5:1 — so the colour is never the only carrier.

Column heads are rotated when they would not fit the cell width; row labels that are too
long end with an ellipsis and keep the full name as a tooltip. ``row_links`` turn row
labels into links (SVG 2 ``href``); the chart is then a ``role="group"`` rather than an
image so assistive technology still reaches the links.

A chart of 500 rows is one pass of string formatting: colours come from a precomputed
table and each distinct value is formatted once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup

from scalemark.charts._svg import (
    INK,
    MUTED,
    Bounds,
    aligned_values,
    clean,
    contrast_ratio,
    default_format,
    describe_table,
    empty_chart,
    esc,
    num,
    svg_open,
    text_width,
    truncate,
)
from scalemark.i18n import gettext as _

__all__ = ["EMPTY_FILL", "SCALE_STOPS", "heatmap_chart", "scale_colour"]

# Sequential blues (after ColorBrewer "Blues"), light to dark, monotone in lightness.
SCALE_STOPS = ("#eef4fb", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
EMPTY_FILL = "#f3f4f6"
_LIGHT_TEXT = "#ffffff"
_DARK_TEXT = "#000000"  # pure black: with white it covers every background at ≥ 4.58:1
_LINK = "#1f4fa3"
_STEPS = 256

_FONT_SIZE = 12
_CELL_WIDTH = 58
_CELL_HEIGHT = 26
_MAX_LABEL = 220.0  # widest row label before it is cut with an ellipsis
_MAX_HEAD = 200.0  # longest rotated column head
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def _mix(low: str, high: str, share: float) -> str:
    channels = (
        round(
            int(low[i : i + 2], 16) + (int(high[i : i + 2], 16) - int(low[i : i + 2], 16)) * share
        )
        for i in (1, 3, 5)
    )
    return "#" + "".join(f"{c:02x}" for c in channels)


def _scale_table() -> list[tuple[str, str]]:
    table = []
    segments = len(SCALE_STOPS) - 1
    for step in range(_STEPS):
        position = step / (_STEPS - 1) * segments
        index = min(int(position), segments - 1)
        fill = _mix(SCALE_STOPS[index], SCALE_STOPS[index + 1], position - index)
        ink = (
            _LIGHT_TEXT
            if contrast_ratio(fill, _LIGHT_TEXT) >= contrast_ratio(fill, _DARK_TEXT)
            else _DARK_TEXT
        )
        table.append((fill, ink))
    return table


_SCALE = _scale_table()


def scale_colour(value: float, min_value: float = 1, max_value: float = 5) -> tuple[str, str]:
    """The cell fill for ``value`` on the scale and the text colour printed on it."""
    span = max_value - min_value if max_value > min_value else 1.0
    step = int((value - min_value) / span * (_STEPS - 1) + 0.5)
    return _SCALE[min(max(step, 0), _STEPS - 1)]


def _safe_href(href: str | None) -> str | None:
    """Links from the application are paths; anything with another scheme is dropped."""
    if not href:
        return None
    text = clean(href).strip()
    lowered = text.lower()
    if ":" in lowered.split("/", 1)[0] and not lowered.startswith(_SAFE_SCHEMES):
        return None  # javascript:, data: and the like
    return text


def heatmap_chart(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    description: str | None = None,
    chart_id: str = "heatmap",
    min_value: float = 1,
    max_value: float = 5,
    value_format: Callable[[float], str] = default_format,
    row_links: Sequence[str | None] | None = None,
    empty_label: str = "–",
) -> Markup:
    """An SVG heatmap: one row per ``rows`` entry, one column per ``columns`` entry.

    ``values[r][c]`` is the figure of row ``r`` in column ``c``; ``None`` (or a missing
    or NaN value) is drawn as an empty grey cell showing ``empty_label``. Colours run from
    ``min_value`` to ``max_value`` (values outside are clamped to the ends, but printed as
    they are). ``row_links[r]`` (a path or http(s) URL, or ``None``) links row ``r``'s
    label. ``description`` is read before the figures. ``chart_id`` must be unique.
    """
    ident = str(esc(chart_id))
    low, high = float(min_value), float(max_value)
    span = high - low if high > low else 1.0
    factor = (_STEPS - 1) / span
    formatted: dict[float, str] = {}

    def show(value: float) -> str:
        text = formatted.get(value)
        if text is None:
            text = formatted[value] = str(esc(value_format(value)))
        return text

    table = [
        aligned_values(values[r] if r < len(values) else (), len(columns)) for r in range(len(rows))
    ]
    desc = describe_table(rows, columns, table, description, value_format)
    if not rows or not columns:
        return Markup(  # noqa: S704 - empty_chart escapes every text
            empty_chart(ident, "heatmap", title=title, desc=desc, message=_("No data"), width=480)
        )
    links = (
        [_safe_href(row_links[r] if r < len(row_links) else None) for r in range(len(rows))]
        if row_links
        else []
    )
    has_links = any(links)

    row_names = [clean(row) for row in rows]
    label_room = min(_MAX_LABEL, max(text_width(name, _FONT_SIZE) for name in row_names))
    grid_left = label_room + 14
    grid_right = grid_left + len(columns) * _CELL_WIDTH
    bounds = Bounds()
    bounds.add(0, 0, grid_right, 0)
    parts: list[str] = []

    legend_bottom = _legend(
        parts, bounds, low, high, any(v is None for row in table for v in row), empty_label, show
    )
    grid_top = _column_heads(parts, bounds, columns, grid_left, legend_bottom + 12)

    # Everything per cell is precomputed per column or per value: one f-string per cell.
    # Dark text is the group's default, so only white text needs a fill of its own.
    cell_x = [f'x="{grid_left + c * _CELL_WIDTH + 1:g}"' for c in range(len(columns))]
    text_x = [f'x="{grid_left + c * _CELL_WIDTH + _CELL_WIDTH / 2:g}"' for c in range(len(columns))]
    size = f'width="{_CELL_WIDTH - 2}" height="{_CELL_HEIGHT - 2}"'
    text_y = num((_CELL_HEIGHT - 2) / 2 + _FONT_SIZE * 0.36)
    inks = {_DARK_TEXT: "", _LIGHT_TEXT: f' fill="{_LIGHT_TEXT}"'}
    empty_text = f' y="{text_y}" fill="{MUTED}">{esc(empty_label)}</text>'
    label_x = num(grid_left - 8)
    parts.append('<g class="chart__rows">')
    for r, row in enumerate(table):
        # Rows start 1 below their slot so the cells (y = 0) leave a white gap between rows.
        parts.append(f'<g transform="translate(0 {num(grid_top + r * _CELL_HEIGHT + 1)})">')
        link = links[r] if links else None
        parts.append(_row_label(row_names[r], label_room, label_x, text_y, link))
        parts.append(
            f'<g class="chart__cells" text-anchor="middle" fill="{_DARK_TEXT}" aria-hidden="true">'
        )
        for c, value in enumerate(row):
            if value is None:
                parts.append(
                    f'<rect {cell_x[c]} {size} fill="{EMPTY_FILL}"/><text {text_x[c]}{empty_text}'
                )
                continue
            step = int((value - low) * factor + 0.5)
            fill, ink = _SCALE[0 if step < 0 else _STEPS - 1 if step >= _STEPS else step]
            parts.append(
                f'<rect {cell_x[c]} {size} fill="{fill}"/>'
                f'<text {text_x[c]} y="{text_y}"{inks[ink]}>{show(value)}</text>'
            )
        parts.append("</g></g>")
    parts.append("</g>")
    bounds.add(0, grid_top, grid_right, grid_top + len(rows) * _CELL_HEIGHT)

    role = "group" if has_links else "img"
    opening = svg_open(ident, "heatmap", bounds.padded(6), title=title, desc=desc, role=role)
    return Markup(opening + "".join(parts) + "</svg>")  # noqa: S704 - texts escaped via esc()


def _legend(
    parts: list[str],
    bounds: Bounds,
    low: float,
    high: float,
    with_empty: bool,
    empty_label: str,
    show: Callable[[float], str],
) -> float:
    """Swatches of the scale (and of an empty cell) at the top left; returns their bottom."""
    span = high - low if high > low else 1.0
    if low.is_integer() and span.is_integer() and 1 <= span <= 10:
        ticks = [low + step for step in range(int(span) + 1)]
    else:
        ticks = [low + span * step / 4 for step in range(5)]
    width, height = 36, 20
    baseline = num(height / 2 + _FONT_SIZE * 0.36)
    parts.append('<g class="chart__legend" aria-hidden="true" text-anchor="middle">')
    x = 0.0
    for tick in ticks:
        fill, ink = scale_colour(tick, low, high if high > low else low + 1)
        parts.append(
            f'<rect x="{num(x)}" y="0" width="{width}" height="{height}" fill="{fill}"/>'
            f'<text x="{num(x + width / 2)}" y="{baseline}" fill="{ink}">{show(tick)}</text>'
        )
        x += width
    if with_empty:
        x += 12
        missing = clean(_("no data"))
        parts.append(
            f'<rect x="{num(x)}" y="0" width="{width}" height="{height}" fill="{EMPTY_FILL}"/>'
            f'<text x="{num(x + width / 2)}" y="{baseline}" fill="{MUTED}">'
            f"{esc(empty_label)}</text>"
            f'<text x="{num(x + width + 6)}" y="{baseline}" text-anchor="start" fill="{INK}">'
            f"{esc(missing)}</text>"
        )
        x += width + 6 + text_width(missing, _FONT_SIZE)
    parts.append("</g>")
    bounds.add(0, 0, x, height)
    return float(height)


def _column_heads(
    parts: list[str], bounds: Bounds, columns: Sequence[str], grid_left: float, top: float
) -> float:
    """The column heads above the grid, rotated if any is wider than a cell.

    Returns the top of the first row.
    """
    names = [clean(column) for column in columns]
    centres = [grid_left + c * _CELL_WIDTH + _CELL_WIDTH / 2 for c in range(len(columns))]
    parts.append(f'<g class="chart__heads" aria-hidden="true" fill="{INK}">')
    if max(text_width(name, _FONT_SIZE) for name in names) <= _CELL_WIDTH - 6:
        baseline = top + _FONT_SIZE
        for name, centre in zip(names, centres, strict=True):
            parts.append(
                f'<text x="{num(centre)}" y="{num(baseline)}" text-anchor="middle">'
                f"{esc(name)}</text>"
            )
            bounds.add_text(centre, baseline, name, _FONT_SIZE, "middle")
        parts.append("</g>")
        return baseline + 8
    shown = [truncate(name, _MAX_HEAD, _FONT_SIZE) for name in names]
    widths = [text_width(text, _FONT_SIZE) for text in shown]
    slope = math.sqrt(0.5)  # sin and cos of 45°
    base = top + max(widths) * slope + _FONT_SIZE
    for name, text, width, centre in zip(names, shown, widths, centres, strict=True):
        # The glyphs sit above-left of the rotated baseline; start a little right of centre
        # so the text reads as centred on its column.
        x, y = centre + 3, base - 4
        tip = f"<title>{esc(name)}</title>" if text != name else ""
        parts.append(
            f"<g>{tip}"
            # translate + rotate rather than rotate(a x y): older WeasyPrint ignores x y.
            f'<text transform="translate({num(x)} {num(y)}) rotate(-45)">'
            f"{esc(text)}</text></g>"
        )
        bounds.add(x - _FONT_SIZE * slope, y - width * slope - _FONT_SIZE, x + width * slope + 4, y)
    parts.append("</g>")
    return base + 2


def _row_label(name: str, room: float, x: str, baseline: str, href: str | None) -> str:
    """A row's label, right-aligned before its cells; a link when ``href`` is given."""
    shown = truncate(name, room, _FONT_SIZE)
    cut = shown != name
    if href is None:
        tip = f"<title>{esc(name)}</title>" if cut else ""
        return (
            f'<g aria-hidden="true">{tip}<text x="{x}" y="{baseline}" text-anchor="end"'
            f' fill="{INK}">{esc(shown)}</text></g>'
        )
    # The <title> names the link (SVG-AAM) and is its tooltip; an aria-label would not
    # match the cut visible text (WCAG 2.5.3, axe "label-content-name-mismatch").
    tip = f"<title>{esc(name)}</title>" if cut else ""
    return (
        f'<a href="{esc(href)}">{tip}<text x="{x}" y="{baseline}" text-anchor="end"'
        f' fill="{_LINK}" text-decoration="underline">{esc(shown)}</text></a>'
    )
