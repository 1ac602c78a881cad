"""History exports (§4): the client's whole interaction history as a file.

One module per format (to_pdf, to_html, to_json, to_csv); each turns a
HistoryDocument into bytes and knows nothing of sessions or transactions. The
use case (access check, reading, the HISTORY_EXPORTED entry and the audit row)
is visits.services.history_export.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from visits.export.document import HistoryDocument
from visits.export.to_csv import render_csv
from visits.export.to_html import render_html
from visits.export.to_json import render_json


class ExportFormat(StrEnum):
    PDF = "pdf"
    HTML = "html"
    JSON = "json"
    CSV = "csv"


FORMAT_LABELS = {
    ExportFormat.PDF: "PDF",
    ExportFormat.HTML: "HTML для печати",
    ExportFormat.JSON: "JSON",
    ExportFormat.CSV: "CSV",
}
MEDIA_TYPES = {
    ExportFormat.PDF: "application/pdf",
    ExportFormat.HTML: "text/html; charset=utf-8",
    ExportFormat.JSON: "application/json",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}
# PDF is rendered by export_render itself: it takes the font.
RENDERERS: dict[ExportFormat, Callable[[HistoryDocument], bytes]] = {
    ExportFormat.HTML: render_html,
    ExportFormat.JSON: render_json,
    ExportFormat.CSV: render_csv,
}


def export_render(
    document: HistoryDocument, fmt: ExportFormat, *, pdf_font: Path | None = None
) -> bytes:
    """The document as a file in the chosen format (PDF in `pdf_font`, PRIYOM_PDF_FONT)."""
    if fmt is ExportFormat.PDF:
        # Imported at the first PDF: fpdf2 with fontTools is 20 MiB in every server
        # process, for an export a few times a day.
        from visits.export.to_pdf import render_pdf

        return render_pdf(document, font=pdf_font)
    return RENDERERS[fmt](document)
