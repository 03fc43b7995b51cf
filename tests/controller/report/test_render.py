"""Rendering the batch report fetches nothing: every URL but inline data is refused, and what a
user wrote (a reason, a message) cannot break out of the page's HTML or its margin boxes."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from controller.report.model import (
    CommandRow,
    Header,
    Production,
    Report,
    StateSpan,
    TrendData,
)
from controller.report.render import LocalOnlyFetcher, RefusedURL, report_html, report_pdf

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("url", ["http://example.com/logo.png", "https://fonts.example/dejavu.woff2",
                                 "file:///etc/passwd", "ftp://example.com/x"])
def test_the_fetcher_refuses_every_url_but_inline_data(url: str) -> None:
    with pytest.raises(RefusedURL):
        LocalOnlyFetcher().fetch(url)


def test_the_fetcher_reads_inline_data() -> None:
    assert LocalOnlyFetcher().fetch("data:text/plain;base64,aGk=").read() == b"hi"


def small_report(reason: str = "pump freed") -> Report:
    header = Header(line_id="line-1", line_kind="toy", recipe_id="r1", recipe_version=2, recipe_name="R",
                    content_sha256="ab" * 32, product="P", run_id=7, started_at=T0, ended_at=T0 + timedelta(hours=1),
                    final_state="Complete", end_reason=None, operators=("op",), simulated=True)
    trend = TrendData("tank.temperature_c", "degC", ((0.0, 20.0, 19.5, 20.5), (600.0, 40.0, 39.0, 41.0)),
                      None, (), 30.0, 45.0, 40.0)
    return Report(header=header, signatures=(), formula=(), steps=(),
                  states=(StateSpan("Execute", 0.0, 3600.0, "start by op"),), alarms=(),
                  commands=(CommandRow(T0, "hold", "op", True, reason),),
                  production=Production("Product", None, "", "", 0.0, "no production", (), ()), deviations=(),
                  trends=(trend,), audit_head=None, time_origin=T0, sample_count=2)


def test_a_reason_with_markup_is_printed_as_text() -> None:
    html = report_html(small_report('<img src="http://example.com/x.png"> "quoted"'))
    assert "&lt;img src=" in html and '<img src="http' not in html


def test_a_small_report_renders_to_a_pdf_with_its_trend_and_page_numbers() -> None:
    pdf = report_pdf(small_report(), {"run": {"id": 7}})
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    assert "Trend tank.temperature_c [degC]" in "".join(pages)
    assert all(f"Page {n} of {len(pages)}" in text for n, text in enumerate(pages, start=1))
    assert all("the audit trail is empty" in text for text in pages)
