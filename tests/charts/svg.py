"""Helpers for reading chart SVG in tests: parsing, element lookup, WCAG contrast."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from markupsafe import Markup

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: Markup | str) -> ET.Element:
    """The chart as an element tree; fails the test if it is not well-formed XML."""
    root = ET.fromstring(str(markup))
    assert root.tag == f"{SVG}svg"
    return root


def find_all(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    """Every ``tag`` element below ``root`` (optionally only those with class ``cls``)."""
    return [
        element
        for element in root.iter(f"{SVG}{tag}")
        if cls is None or cls in element.get("class", "").split()
    ]


def title_and_desc(root: ET.Element) -> tuple[str, str]:
    """The chart's own ``<title>`` and ``<desc>`` texts, after checking they label it."""
    ident = root.get("id")
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert title.get("id") == f"{ident}-title" and desc.get("id") == f"{ident}-desc"
    assert root.get("aria-labelledby") == f"{ident}-title {ident}-desc"
    return title.text or "", desc.text or ""


def points(text: str) -> list[tuple[float, float]]:
    """``"x,y x,y"`` (a polygon's points) as pairs of numbers."""
    pairs = []
    for pair in text.split():
        x, y = pair.split(",")
        pairs.append((float(x), float(y)))
    return pairs


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rgb`` or ``#rrggbb`` (computed here, independently)."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    linear = []
    for i in (0, 2, 4):
        channel = int(digits[i : i + 2], 16) / 255
        linear.append(channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4)
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)
