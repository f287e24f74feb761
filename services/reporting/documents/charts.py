"""Chart images (PNG) for the DOCX and PDF summaries, drawn with matplotlib.

Labels are Chinese when a CJK font is installed (e.g. Debian's fonts-noto-cjk); otherwise the
chart falls back to its ASCII labels, since the caption beside it names it in Chinese anyway.
"""

from __future__ import annotations

import io
from functools import cache

from services.reporting.documents.content import Chart

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "AR PL UMing CN",
)


@cache
def _cjk_family() -> str | None:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def png(chart: Chart, *, width: float = 6.0, height: float = 2.6, dpi: int = 110) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    family = _cjk_family()
    labels = chart.labels if family or not chart.fallback_labels else chart.fallback_labels
    figure = Figure(figsize=(width, height), dpi=dpi)
    axes = figure.add_subplot()
    positions = list(range(len(chart.values)))
    bars = axes.bar(positions, chart.values, color="#2f6f9f", width=0.6)
    axes.set_xticks(positions, labels, fontfamily=family or "DejaVu Sans", fontsize=8)
    axes.bar_label(bars, labels=[_value(value, chart) for value in chart.values], fontsize=7, padding=2)
    axes.spines[["top", "right"]].set_visible(False)
    top = 100 if chart.kind == "percent" else max([*chart.values, 1]) * 1.2
    axes.set_ylim(0, top)
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _value(value: float, chart: Chart) -> str:
    number = int(value) if float(value).is_integer() else round(value, 1)
    return f"{number}%" if chart.kind == "percent" else str(number)
