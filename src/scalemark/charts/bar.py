"""Horizontal bar charts as inline SVG: the same markup in pages and in PDFs.

The SVG is self-contained (no scripts, no external fonts or styles), scales with its
container through ``viewBox`` and names itself for assistive technology: ``role="img"``
with a ``<title>`` and a ``<desc>`` listing every bar's label and value, so a screen
reader gets the figures, not a picture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart"]

_FONT = "'DejaVu Sans', 'Segoe UI', system-ui, sans-serif"


def _default_format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def bar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    description: str | None = None,
    chart_id: str = "bar-chart",
    value_format: Callable[[float], str] = _default_format,
    max_value: float | None = None,
    width: int = 560,
    label_width: int = 150,
    bar_height: int = 24,
    gap: int = 10,
    colour: str = "#1f4fa3",
    track: str = "#e6ecf7",
    ink: str = "#1b2430",
) -> Markup:
    """An SVG chart with one horizontal bar per ``(label, value)``.

    ``max_value`` fixes the scale (default: the largest value, at least 1); values are
    drawn from zero. ``value_format`` turns a value into its printed figure (pass a Babel
    formatter for locale-aware numbers). ``chart_id`` must be unique on the page.
    """
    ident = escape(chart_id)
    top = float(max_value) if max_value else max([1.0, *(float(v) for _, v in bars)])
    value_room = 56
    plot = max(40, width - label_width - value_room)
    height = max(1, len(bars)) * (bar_height + gap) + gap
    figures = [f"{label}: {value_format(float(value))}" for label, value in bars]
    desc = description if description is not None else "; ".join(figures)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart--bar" id="{ident}"'
        f' viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet"'
        f' role="img" aria-labelledby="{ident}-title {ident}-desc"'
        f' style="max-width: {width}px; height: auto;" font-family="{_FONT}" font-size="13">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
    ]
    for index, (label, raw) in enumerate(bars):
        value = max(0.0, float(raw))
        y = gap + index * (bar_height + gap)
        length = round(plot * min(value, top) / top, 2)
        middle = y + bar_height / 2
        parts.append(
            f'<g class="chart__bar" aria-hidden="true">'
            f'<text x="{label_width - 8}" y="{middle}" text-anchor="end"'
            f' dominant-baseline="central" fill="{ink}">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{plot}" height="{bar_height}" rx="4"'
            f' fill="{track}"/>'
            f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar_height}" rx="4"'
            f' fill="{colour}"/>'
            f'<text x="{label_width + length + 6}" y="{middle}" dominant-baseline="central"'
            f' fill="{ink}" font-weight="600">{escape(value_format(value))}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
