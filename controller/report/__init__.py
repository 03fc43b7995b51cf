"""The batch report of a run: gathered from the store (``content``), drawn (``figures``) and
printed as PDF/A-3b with the batch record attached (``render``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from controller.report.content import gather
from controller.report.model import Report
from controller.store import load_batch_record

__all__ = ["Report", "batch_report_pdf", "gather", "record_document"]


def record_document(session: Session, report: Report) -> dict[str, Any]:
    """The batch record attached to the PDF: what ``GET /runs/{id}/record`` holds (the record,
    its deviation seconds and the audit head the report printed)."""
    record = load_batch_record(session, report.header.run_id)
    head = report.audit_head
    return record.model_dump(mode="json") | {
        "deviation_s": sum(d.seconds for d in record.deviations),
        "audit_head": None if head is None else {"id": head.id, "hash": head.hash, "at": head.at.isoformat()},
    }


def batch_report_pdf(session: Session, run_id: int, *, now: datetime | None = None) -> bytes:
    """The PDF batch report of run ``run_id``; LookupError when there is no such run."""
    from controller.report.render import report_pdf  # WeasyPrint and matplotlib: loaded when a report is made

    report = gather(session, run_id, now=now)
    return report_pdf(report, record_document(session, report))
