"""The batch report as HTML (a Jinja2 template) and as PDF (WeasyPrint: PDF/A-3b with the batch
record attached as JSON).

Why WeasyPrint: it installs from the package index (pure Python over the system's pango, which
Debian ships), lays out print CSS (``@page`` margin boxes carry "page n of m" and the audit
checkpoint on every page) and writes PDF/A-3b with embedded files, all without a browser.
Nothing is fetched at render time: figures are inline ``data:`` URLs, fonts come from the
system (fontconfig), and :class:`LocalOnlyFetcher` refuses every other URL."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from weasyprint import HTML, Attachment
from weasyprint.urls import URLFetcher, URLFetcherResponse

from controller.report.analysis import event_clock, event_time, hms, wall
from controller.report.figures import trend_svg
from controller.report.model import Report

TEMPLATES = Path(__file__).parent / "templates"
PDF_VARIANT = "pdf/a-3b"  # archival PDF that may carry embedded files (ISO 19005-3)
RECORD_ATTACHMENT = "batch-record.json"


class RefusedURL(ValueError):
    """A URL the report may not fetch (everything but inline data)."""


class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """WeasyPrint's fetcher, for inline ``data:`` URLs only: anything else is refused (the
    resource is left out, and the report never waits for a network)."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if not url.startswith("data:"):
            raise RefusedURL(f"the batch report fetches nothing but inline data, not {url[:80]!r}")
        response: URLFetcherResponse = super().fetch(url, headers)
        return response


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["wall"] = wall
    env.filters["num"] = _num
    env.filters["hms"] = hms
    env.filters["css_string"] = _css_string
    return env


def _num(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def _css_string(text: str) -> Markup:
    """``text`` as the inside of a CSS string in the page's <style> (the margin boxes' content):
    quotes and backslashes escaped, no markup (a <style> element decodes no entities)."""
    cleaned = "".join(c for c in text if c not in "<>\n\r")
    return Markup(cleaned.replace("\\", "\\\\").replace('"', '\\"'))


def _svg_data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def report_html(report: Report) -> str:
    """The report as one self-contained HTML document (figures inline)."""
    deviations_t_s: Sequence[tuple[float, float]] = [
        ((d.started_at - report.time_origin).total_seconds(), (d.ended_at - report.time_origin).total_seconds())
        for d in report.deviations]
    figures = [(trend, _svg_data_url(trend_svg(trend, deviations_t_s))) for trend in report.trends if trend.points]
    return _environment().get_template("report.html").render(
        report=report, figures=figures, at=functools.partial(event_time, report), clock=event_clock(report))


def report_pdf(report: Report, record: dict[str, Any]) -> bytes:
    """The report as PDF/A-3b with ``record`` (the batch record's JSON) attached."""
    attachment = Attachment(string=json.dumps(record, indent=1, sort_keys=True), name=RECORD_ATTACHMENT,
                            description=f"Batch record of run {report.header.run_id} (JSON)", relationship="Data",
                            url_fetcher=LocalOnlyFetcher())
    pdf: bytes = HTML(string=report_html(report), url_fetcher=LocalOnlyFetcher()).write_pdf(
        pdf_variant=PDF_VARIANT, attachments=[attachment])
    return pdf
