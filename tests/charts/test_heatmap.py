"""Heatmap: accessible, escaped SVG whose colours and printed figures stay readable."""

from __future__ import annotations

import itertools
import math

from charts.svg import SVG, contrast, find_all, parse, title_and_desc
from scalemark.charts import heatmap_chart

HOSTILE = "<script>alert(\"x\")</script> & 'Müller'"
ROWS = ["Munich", "Hamburg"]
COLUMNS = ["Governance", "Processes", "Data"]


def _cells(root) -> list[tuple[str, str, str]]:
    """``(fill, text colour, text)`` of every data cell, in reading order."""
    cells = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "chart__cells":
            continue
        children = list(group)
        for rect, text in zip(children[::2], children[1::2], strict=True):
            assert rect.tag == f"{SVG}rect" and text.tag == f"{SVG}text"
            cells.append((rect.get("fill"), text.get("fill", group.get("fill")), text.text))
    return cells


def test_chart_is_an_accessible_image_with_every_figure_in_its_description():
    chart = heatmap_chart(
        ROWS,
        COLUMNS,
        [[3.2, 4, None], [1, 5, 2.5]],
        title="Maturity per unit",
        description="Scores from 1 to 5.",
        chart_id="units-heatmap",
    )
    root = parse(chart)
    assert root.get("role") == "img"
    title, desc = title_and_desc(root)
    assert title == "Maturity per unit"
    assert desc.startswith("Scores from 1 to 5.")
    assert "Munich: Governance: 3.2, Processes: 4, Data: no data" in desc
    assert "Hamburg: Governance: 1, Processes: 5, Data: 2.5" in desc
    assert [text for _, _, text in _cells(root)] == ["3.2", "4", "–", "1", "5", "2.5"]
    assert "<a" not in str(chart)


def test_every_label_is_escaped_and_unsafe_links_are_dropped():
    chart = heatmap_chart(
        [HOSTILE, "Safe"],
        [HOSTILE],
        [[1], [2]],
        title=HOSTILE,
        empty_label="<b>",
        row_links=['javascript:alert("x")', '/units/2?a=1&b="2"'],
    )
    text = str(chart)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "javascript:" not in text
    root = parse(chart)
    assert title_and_desc(root)[0] == HOSTILE
    (link,) = find_all(root, "a")
    assert link.get("href") == '/units/2?a=1&b="2"'


def test_low_and_high_values_get_different_colours_and_readable_text():
    values = [round(1 + step * 0.05, 2) for step in range(81)]  # 1.00 … 5.00
    root = parse(heatmap_chart(["Unit"], [str(v) for v in values], [values], title="t"))
    cells = _cells(root)
    assert len(cells) == len(values)
    fills = [fill for fill, _, _ in cells]
    assert fills[0] != fills[-1]
    assert len(set(fills)) > 40  # a continuous scale, not a handful of buckets
    for fill, ink, _ in cells:
        assert contrast(fill, ink) >= 4.5, (fill, ink)
    low, high = cells[0], cells[-1]
    assert contrast(low[0], "#ffffff") < contrast(high[0], "#ffffff")  # darker means higher


def test_legend_swatches_are_readable_too():
    root = parse(heatmap_chart(["A"], ["B"], [[None]], title="t"))
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart__legend")
    children = list(legend)
    swatches = [
        (rect.get("fill"), text.get("fill"))
        for rect, text in itertools.pairwise(children)
        if rect.tag == f"{SVG}rect" and text.tag == f"{SVG}text"
    ]
    assert len(swatches) == 6  # 1 … 5 and "no data"
    for fill, ink in swatches:
        assert contrast(fill, ink) >= 4.5


def test_missing_nan_and_short_rows_are_empty_cells():
    root = parse(heatmap_chart(ROWS, COLUMNS, [[math.nan, 2], []], title="t", empty_label="n/a"))
    texts = [text for _, _, text in _cells(root)]
    assert texts == ["n/a", "2", "n/a", "n/a", "n/a", "n/a"]
    assert "Hamburg: Governance: no data" in title_and_desc(root)[1]


def test_values_outside_the_range_are_clamped_in_colour_but_printed_as_they_are():
    root = parse(heatmap_chart(["A"], ["x", "y", "z"], [[0, 1, 9]], title="t"))
    (below, low, above) = _cells(root)
    assert below[0] == low[0] and below[2] == "0"
    assert above[2] == "9"


def test_row_links_make_labels_links_and_keep_them_reachable():
    chart = heatmap_chart(
        ROWS, COLUMNS, [[1, 2, 3], [3, 2, 1]], title="t", row_links=["/u/1", None]
    )
    root = parse(chart)
    assert root.get("role") == "group"  # an img's children are hidden from assistive technology
    (link,) = find_all(root, "a")
    assert link.get("href") == "/u/1"
    assert link.find(f"{SVG}text").text == "Munich"
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "chart__cells":
            assert group.get("aria-hidden") == "true"


def test_long_column_heads_are_rotated_and_short_ones_are_not():
    short = parse(heatmap_chart(["A"], ["Gov", "Data"], [[1, 2]], title="t"))
    assert not any(t.get("transform") for t in find_all(short, "text"))
    long_heads = ["Governance & steering", "Brand & content management"]
    rotated = parse(heatmap_chart(["A"], long_heads, [[1, 2]], title="t"))
    heads = next(g for g in rotated.iter(f"{SVG}g") if g.get("class") == "chart__heads")
    transforms = [t.get("transform") for t in find_all(heads, "text")]
    assert len(transforms) == 2 and all(t.endswith("rotate(-45)") for t in transforms)


def test_long_row_labels_are_cut_with_the_full_name_as_tooltip():
    name = "Frankfurt am Main – Innenstadt, Westend, Bockenheim und das ganze Umland Nord"
    root = parse(heatmap_chart([name], ["x"], [[3]], title="t"))
    rows = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart__rows")
    label = rows.find(f"{SVG}g").find(f"{SVG}g")
    assert label.find(f"{SVG}title").text == name
    assert label.find(f"{SVG}text").text.endswith("…")


def test_five_hundred_rows_render_every_cell_and_link():
    rows = [f"Unit {i:03d} of the organisation" for i in range(500)]
    columns = [f"Dimension {j}" for j in range(10)]
    values = [
        [None if (i + j) % 17 == 0 else 1 + (i * j) % 41 / 10 for j in range(10)]
        for i in range(500)
    ]
    links = [f"/units/{i}" for i in range(500)]
    chart = heatmap_chart(rows, columns, values, title="t", row_links=links)
    root = parse(chart)
    assert len(_cells(root)) == 5000
    assert len(find_all(root, "a")) == 500
