"""Trend figures of the batch report: a key tag over the run (mean line and min-max band of each
bucket), its setpoint, its limits and the production deviations, drawn with matplotlib's
object API (no pyplot: no global figure state) as SVG with its text kept as text (the PDF's text
layer then carries titles and labels)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from controller.report.model import TrendData

FIGURE_SIZE_IN = (7.0, 2.3)  # the text width of an A4 page with 15 mm margins (180 mm), a fifth of its height


def trend_title(trend: TrendData) -> str:
    return f"Trend {trend.tag}" + (f" [{trend.unit}]" if trend.unit else "")


def time_scale(span_s: float) -> tuple[float, str]:
    """Seconds per axis unit and its name: minutes up to three hours, hours beyond."""
    return (3600.0, "h") if span_s > 3 * 3600.0 else (60.0, "min")


def trend_svg(trend: TrendData, deviations_t_s: Sequence[tuple[float, float]] = ()) -> str:
    """The SVG text of one trend figure."""
    # fonttype none: text stays text; hashsalt: the same run draws the same SVG
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "poreline-report", "font.family": "DejaVu Sans",
                                "font.size": 8.0}):
        figure = Figure(figsize=FIGURE_SIZE_IN)
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        span_s = trend.points[-1][0] - trend.points[0][0] if trend.points else 0.0
        per, unit = time_scale(span_s)
        t = [p[0] / per for p in trend.points]
        axes.fill_between(t, [p[2] for p in trend.points], [p[3] for p in trend.points], color="#9ecae1",
                          linewidth=0, label="min-max")
        axes.plot(t, [p[1] for p in trend.points], color="#08519c", linewidth=1.0, label="measured")
        if trend.setpoint_points:
            axes.step([p[0] / per for p in trend.setpoint_points], [p[1] for p in trend.setpoint_points],
                      where="post", color="#d94801", linewidth=1.0, linestyle="--", label="setpoint")
        elif trend.formula_setpoint is not None:
            axes.axhline(trend.formula_setpoint, color="#d94801", linewidth=1.0, linestyle="--",
                         label="setpoint (formula)")
        for limit, name in ((trend.low, "low limit"), (trend.high, "high limit")):
            if limit is not None:
                axes.axhline(limit, color="#a50f15", linewidth=0.8, linestyle=":", label=name)
        for n, (lo, hi) in enumerate(deviations_t_s):
            axes.axvspan(lo / per, hi / per, color="#fcbba1", alpha=0.6, label="deviation" if n == 0 else None)
        axes.set_title(trend_title(trend), loc="left", pad=14.0)  # the legend goes beneath it
        axes.set_xlabel(f"run time [{unit}]")
        axes.set_ylabel(trend.unit)
        axes.grid(True, linewidth=0.3)
        handles, labels = axes.get_legend_handles_labels()
        axes.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=6.5, ncols=len(labels),
                    frameon=False, borderaxespad=0.1, handlelength=1.5, columnspacing=1.0)  # above the plot, off the data
        figure.subplots_adjust(left=0.08, right=0.99, bottom=0.17, top=0.82)  # fixed: tight_layout draws twice
        out = io.StringIO()
        figure.savefig(out, format="svg")
    return out.getvalue()
