"""Server-side SVG charts, the same in pages and PDFs."""

from scalemark.charts.heatmap import heatmap_chart
from scalemark.charts.radar import RadarSeries, radar_chart
from scalemark.charts.tension import TensionAxis, TensionPoint, tension_chart

__all__ = [
    "RadarSeries",
    "TensionAxis",
    "TensionPoint",
    "heatmap_chart",
    "radar_chart",
    "tension_chart",
]
