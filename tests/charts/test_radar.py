"""Radar chart: accessible, escaped SVG with the right geometry and honest gaps."""

from __future__ import annotations

import math

import pytest

from charts.svg import SVG, contrast, find_all, parse, points, title_and_desc
from scalemark.charts import RadarSeries, radar_chart

AXES = ["Governance", "Processes", "Data", "Skills"]
HOSTILE = "<script>alert(\"x\")</script> & 'Müller'"


def _centre_and_radius(root) -> tuple[float, float, float]:
    spokes = find_all(root, "line", "chart__spoke")
    first = spokes[0]
    cx, cy = float(first.get("x1")), float(first.get("y1"))
    return cx, cy, cy - float(first.get("y2"))


def test_chart_is_an_accessible_image_with_every_figure_in_its_description():
    chart = radar_chart(
        AXES,
        [
            RadarSeries("Munich", [3.5, 2, 4, 1.5]),
            RadarSeries("Target", [4, 4, 4, 3], kind="target"),
            RadarSeries("Region South", [3, 3, 3.5, 2], kind="parent"),
        ],
        title="Maturity by dimension",
        description="Munich against its target.",
        chart_id="maturity",
    )
    root = parse(chart)
    assert root.get("role") == "img"
    assert root.get("id") == "maturity"
    assert "viewBox" in root.attrib
    title, desc = title_and_desc(root)
    assert title == "Maturity by dimension"
    assert desc.startswith("Munich against its target.")
    assert "Munich: Governance: 3.5, Processes: 2, Data: 4, Skills: 1.5" in desc
    assert "Target: Governance: 4, Processes: 4, Data: 4, Skills: 3" in desc
    assert "Region South: Governance: 3, Processes: 3, Data: 3.5, Skills: 2" in desc
    text = str(chart)
    assert "<script" not in text and "foreignObject" not in text
    assert "var(" not in text and "href" not in text


def test_every_label_is_escaped():
    chart = radar_chart(
        [HOSTILE, "B", "C"],
        [RadarSeries(HOSTILE, [1, 2, 3])],
        title=HOSTILE,
        description=HOSTILE,
        chart_id='x" onload="alert(1)',
    )
    text = str(chart)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert 'onload="' not in text
    root = parse(chart)  # quotes and ampersands did not break the XML
    title, desc = title_and_desc(root)
    assert title == HOSTILE
    assert f"{HOSTILE}: {HOSTILE}: 1, B: 2, C: 3" in desc


def test_polygon_points_lie_on_the_spokes_at_the_right_distance():
    root = parse(radar_chart(AXES, [RadarSeries("Unit", [5, 2.5, 5, 0])], title="t"))
    cx, cy, radius = _centre_and_radius(root)
    assert radius > 50
    (line,) = find_all(root, "polygon", "chart__line")
    top, right, bottom, left = points(line.get("points"))
    # First axis at the top, clockwise: value 5 is the outer ring, 2.5 half-way, 0 the centre.
    assert top == pytest.approx((cx, cy - radius), abs=0.01)
    assert right == pytest.approx((cx + radius / 2, cy), abs=0.01)
    assert bottom == pytest.approx((cx, cy + radius), abs=0.01)
    assert left == pytest.approx((cx, cy), abs=0.01)
    # The outer ring passes through the same top point.
    outer = find_all(root, "polygon", "chart__ring")[-1]
    assert points(outer.get("points"))[0] == pytest.approx((cx, cy - radius), abs=0.01)


def test_values_beyond_the_scale_are_clamped_in_the_drawing_but_not_in_the_figures():
    chart = radar_chart(AXES, [RadarSeries("Unit", [7, -1, 5, 5])], title="t")
    root = parse(chart)
    cx, cy, radius = _centre_and_radius(root)
    (line,) = find_all(root, "polygon", "chart__line")
    top, right, *_ = points(line.get("points"))
    assert top == pytest.approx((cx, cy - radius), abs=0.01)
    assert right == pytest.approx((cx, cy), abs=0.01)
    assert "Governance: 7, Processes: -1" in title_and_desc(root)[1]


def test_missing_values_leave_a_gap_instead_of_a_closed_polygon():
    chart = radar_chart(
        AXES,
        [RadarSeries("Unit", [3, None, 4, 5]), RadarSeries("Empty", [None] * 4, kind="target")],
        title="t",
    )
    root = parse(chart)
    assert find_all(root, "polygon", "chart__line") == []
    (path,) = find_all(root, "path", "chart__line")
    # One open line through Data, Skills and Governance (wrapping round), none via Processes.
    assert path.get("d").startswith("M") and path.get("d").count("L") == 2
    assert path.get("d").count("Z") == 0
    series = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart__series")
    assert len(find_all(series, "circle")) == 3  # a marker per present value
    desc = title_and_desc(root)[1]
    assert "Processes: no data" in desc
    assert "Empty: Governance: no data, Processes: no data" in desc


def test_short_values_and_nan_count_as_missing():
    root = parse(radar_chart(AXES, [RadarSeries("Unit", [3, math.nan])], title="t"))
    desc = title_and_desc(root)[1]
    assert "Governance: 3, Processes: no data, Data: no data, Skills: no data" in desc


def test_kinds_differ_in_line_fill_and_marker_shape():
    root = parse(
        radar_chart(
            AXES,
            [
                RadarSeries("Now", [3, 3, 3, 3]),
                RadarSeries("Goal", [4, 4, 4, 4], kind="target"),
                RadarSeries("Parent", [2, 2, 2, 2], kind="parent"),
            ],
            title="t",
        )
    )
    now, goal, parent = find_all(root, "polygon", "chart__line")
    dashes = {now.get("stroke-dasharray"), goal.get("stroke-dasharray")}
    dashes.add(parent.get("stroke-dasharray"))
    assert len(dashes) == 3 and now.get("stroke-dasharray") is None
    assert len(find_all(root, "polygon", "chart__area")) == 1  # only "current" is filled
    series = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart__series")
    assert len(find_all(series, "circle")) == 4
    assert len(find_all(series, "rect")) == 4
    assert len(find_all(series, "path")) == 4
    for line in (now, goal, parent):
        assert contrast(line.get("stroke"), "#ffffff") >= 4.5
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart__legend")
    assert [t.text for t in find_all(legend, "text")] == ["Now", "Goal", "Parent"]


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="kind"):
        radar_chart(AXES, [RadarSeries("x", [1, 2, 3, 4], kind="median")], title="t")


def test_long_axis_labels_wrap_to_two_lines_and_keep_the_full_name():
    long_name = "Standardisation of brand assets across every local market and channel"
    axes = [long_name, *(f"Dimension {i}" for i in range(11))]
    root = parse(radar_chart(axes, [RadarSeries("Unit", [3] * 12)], title="t"))
    labels = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart__axes")
    first = labels.find(f"{SVG}g")
    assert first.find(f"{SVG}title").text == long_name
    lines = [t.text for t in first.findall(f"{SVG}text")]
    assert len(lines) == 2 and lines[1].endswith("…")
    min_y = float(root.get("viewBox").split()[1])
    _cx, cy, radius = _centre_and_radius(root)
    assert min_y < cy - radius - 30  # room above the top ring for the two lines


@pytest.mark.parametrize("count", [1, 2])
def test_one_or_two_axes_become_bars(count):
    axes = AXES[:count]
    chart = radar_chart(
        axes,
        [RadarSeries("Now", [3.5, None][:count]), RadarSeries("Goal", [4, 4], kind="target")],
        title="t",
    )
    root = parse(chart)
    assert root.get("role") == "img"
    bars = find_all(root, "rect", "chart__bar")
    assert len(bars) == 2 * count - (1 if count == 2 else 0)
    assert "Now: Governance: 3.5" in title_and_desc(root)[1]


def test_no_axes_or_no_series_do_not_crash():
    empty = parse(radar_chart([], [], title="Nothing yet"))
    assert title_and_desc(empty)[0] == "Nothing yet"
    grid_only = parse(radar_chart(AXES, [], title="t"))
    assert find_all(grid_only, "polygon", "chart__ring")
