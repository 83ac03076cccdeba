"""Tension chart: a track per field, a marker per unit, the highlighted unit stands out."""

from __future__ import annotations

import pytest

from charts.svg import SVG, contrast, find_all, parse, title_and_desc
from scalemark.charts import TensionAxis, TensionPoint, tension_chart

HOSTILE = "<script>alert(\"x\")</script> & 'Müller'"
STEERING = TensionAxis("Steering", "Central steering", "Local execution")
SPEED = TensionAxis("Speed", "Speed", "Quality")


def _fields(root):
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "chart__field"]


def _units(field):
    """``(shape tag, attributes, tooltip)`` of each unit marker on one track."""
    return [
        (element.tag.removeprefix(SVG), element.attrib, element.find(f"{SVG}title").text)
        for element in field
        if "chart__unit" in element.get("class", "")
    ]


def test_chart_is_an_accessible_image_with_every_position_in_its_description():
    chart = tension_chart(
        [STEERING, SPEED],
        [TensionPoint("Munich", [72, 10]), TensionPoint("Hamburg", [30.4, None])],
        title="Positions",
        description="Where the units stand.",
        chart_id="positions",
    )
    root = parse(chart)
    assert root.get("role") == "img"
    title, desc = title_and_desc(root)
    assert title == "Positions"
    assert desc.startswith("Where the units stand.")
    assert "Steering (0 = Central steering, 100 = Local execution): Munich: 72; Hamburg: 30" in desc
    assert "Speed (0 = Speed, 100 = Quality): Munich: 10; Hamburg: no data" in desc
    steering, speed = _fields(root)
    assert [tip for _, _, tip in _units(steering)] == ["Munich: 72", "Hamburg: 30"]
    assert [tip for _, _, tip in _units(speed)] == ["Munich: 10"]  # no marker without data
    texts = [t.text for t in find_all(steering, "text")]
    assert {"Steering", "Central steering", "Local execution", "0", "50", "100"} <= set(texts)


def test_every_label_is_escaped():
    chart = tension_chart(
        [TensionAxis(HOSTILE, HOSTILE, HOSTILE)],
        [TensionPoint(HOSTILE, [50], highlight=True), TensionPoint("x", [20])],
        title=HOSTILE,
    )
    text = str(chart)
    assert "<script>" not in text and "&lt;script&gt;" in text
    root = parse(chart)
    assert title_and_desc(root)[0] == HOSTILE


def test_markers_sit_at_their_position_on_the_track():
    root = parse(
        tension_chart(
            [STEERING],
            [TensionPoint("L", [0]), TensionPoint("M", [50]), TensionPoint("R", [100])],
            title="t",
        )
    )
    (field,) = _fields(root)
    (track,) = find_all(field, "line", "chart__track")
    left, right = float(track.get("x1")), float(track.get("x2"))
    xs = [float(attributes["cx"]) for _, attributes, _ in _units(field)]
    assert xs == pytest.approx([left, (left + right) / 2, right], abs=0.01)
    ys = {float(attributes["cy"]) for _, attributes, _ in _units(field)}
    assert ys == {float(track.get("y1"))}


def test_positions_outside_0_to_100_are_clamped():
    root = parse(tension_chart([STEERING], [TensionPoint("Far", [140])], title="t"))
    (field,) = _fields(root)
    (track,) = find_all(field, "line", "chart__track")
    ((_, attributes, tip),) = _units(field)
    assert float(attributes["cx"]) == pytest.approx(float(track.get("x2")))
    assert tip == "Far: 100"


def test_highlighted_unit_is_a_labelled_diamond_in_a_readable_colour():
    points = [TensionPoint(f"Unit {i}", [i * 2]) for i in range(50)]
    points.append(TensionPoint("Munich", [72], highlight=True))
    root = parse(tension_chart([STEERING], points, title="t"))
    (field,) = _fields(root)
    units = _units(field)
    highlighted = [u for u in units if "chart__unit--highlight" in u[1]["class"]]
    assert len(highlighted) == 1
    tag, _attributes, tip = highlighted[0]
    assert tag == "path" and tip == "Munich: 72"
    others = [u for u in units if u not in highlighted]
    assert {tag for tag, _, _ in others} == {"circle"}
    labels = [t for t in find_all(field, "text") if t.text == "Munich: 72"]
    assert len(labels) == 1
    assert contrast(labels[0].get("fill"), "#ffffff") >= 4.5
    assert units[-1] == highlighted[0]  # drawn last, on top of the others
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "chart__legend")
    assert [t.text for t in find_all(legend, "text")] == ["Munich", "Other units"]


def test_many_units_get_smaller_fainter_markers():
    def marker_of(count):
        points = [TensionPoint(f"U{i}", [i % 100]) for i in range(count)]
        (field,) = _fields(parse(tension_chart([STEERING], points, title="t")))
        _, attributes, _ = _units(field)[0]
        return float(attributes["r"]), float(attributes["fill-opacity"])

    few, many = marker_of(3), marker_of(200)
    assert many[0] < few[0] and many[1] < few[1]


def test_highlight_labels_close_together_do_not_overlap():
    points = [
        TensionPoint("Munich branch", [50], highlight=True),
        TensionPoint("Hamburg branch", [52], highlight=True),
    ]
    root = parse(tension_chart([STEERING], points, title="t"))
    (field,) = _fields(root)
    labels = [t for t in find_all(field, "text") if t.get("font-weight") == "600"]
    rows = {t.get("y") for t in labels if t.text != "Steering"}
    assert len(rows) == 2  # stacked, not drawn over each other


def test_long_pole_names_wrap_and_nothing_crashes_without_axes_or_points():
    axis = TensionAxis(
        "Brand assets", "Strict global standards in every market", "Free local adaptation"
    )
    root = parse(tension_chart([axis], [], title="t"))
    (field,) = _fields(root)
    pole = next(g for g in field.iter(f"{SVG}g") if g.find(f"{SVG}title") is not None)
    assert pole.find(f"{SVG}title").text == "Strict global standards in every market"
    first, second = (t.text for t in pole.findall(f"{SVG}text"))
    assert first == "Strict global" and second.startswith("standards") and second.endswith("…")
    empty = parse(tension_chart([], [TensionPoint("x", [1])], title="Nothing"))
    assert title_and_desc(empty)[0] == "Nothing"
