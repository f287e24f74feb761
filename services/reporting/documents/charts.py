"""Chart images (PNG) for the DOCX and PDF summaries, drawn with matplotlib.

Labels are Chinese, drawn in the font the project installs (fonts.py), the one the PDF embeds, so
a chart looks the same whatever fonts the host has.
"""

from __future__ import annotations

import io

from services.reporting.documents import fonts
from services.reporting.documents.content import Chart

CROWDED = 8  # bars; above this many, labels slant


def png(chart: Chart, *, width: float = 6.0, height: float = 2.6, dpi: int = 110) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    family = fonts.chart_family()
    figure = Figure(figsize=(width, height), dpi=dpi)
    axes = figure.add_subplot()
    positions = list(range(len(chart.values)))
    bars = axes.bar(positions, chart.values, color="#2f6f9f", width=0.6)
    # A county's twenty townships: Chinese names side by side would run into each other, so they
    # slant, and the values above the bars stand upright.
    crowded = len(chart.values) > CROWDED
    axes.set_xticks(
        positions,
        chart.labels,
        fontfamily=family,
        fontsize=8,
        rotation=45 if crowded else 0,
        ha="right" if crowded else "center",
        rotation_mode="anchor",
    )
    axes.bar_label(
        bars,
        labels=[_value(value, chart) for value in chart.values],
        fontsize=7,
        padding=2,
        rotation=90 if crowded else 0,
    )
    axes.spines[["top", "right"]].set_visible(False)
    top = 100 if chart.kind == "percent" else max([*chart.values, 1]) * (1.35 if crowded else 1.2)
    axes.set_ylim(0, top)
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _value(value: float, chart: Chart) -> str:
    number = int(value) if float(value).is_integer() else round(value, 1)
    return f"{number}%" if chart.kind == "percent" else str(number)
