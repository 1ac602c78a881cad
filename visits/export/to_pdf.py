"""The history as an A4 PDF (fpdf2 with a Cyrillic TTF font)."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from visits.export.document import HistoryDocument

FONT_NAME = "DejaVuSans.ttf"
# The font shipped with the package first (a clean machine), then Debian's fonts-dejavu-core.
FONT_PATHS = (
    Path(__file__).resolve().parent.parent / "fonts" / FONT_NAME,
    Path("/usr/share/fonts/truetype/dejavu") / FONT_NAME,
)


def pdf_font_path(override: Path | None = None) -> Path:
    """The Cyrillic TTF for PDFs: `override` (PRIYOM_PDF_FONT), the shipped DejaVu Sans, or Debian's."""
    candidates = (override, *FONT_PATHS) if override else FONT_PATHS
    for path in candidates:
        if path.is_file():
            return path
    raise RuntimeError(
        "No Cyrillic font for PDF: install fonts-dejavu-core or set PRIYOM_PDF_FONT to a TTF file"
    )


class _HistoryPdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.set_text_color(110)
        self.cell(0, 5, f"Страница {self.page_no()} из {{nb}}", align="C")


def render_pdf(document: HistoryDocument, *, font: Path | None = None) -> bytes:
    """The document as PDF bytes, in `font` when given and readable."""
    pdf = _HistoryPdf(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("DejaVu", fname=str(pdf_font_path(font)))
    pdf.set_title(f"История взаимодействия — {document.client.full_name}")
    pdf.set_author(document.office)
    pdf.set_creator("Приём")
    pdf.add_page()

    def line(text: str, size: float = 10, height: float = 5, gray: int = 0) -> None:
        pdf.set_font("DejaVu", size=size)
        pdf.set_text_color(gray)
        pdf.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line("История взаимодействия", size=16, height=8)
    line(document.office, size=9, gray=90)
    pdf.ln(2)
    client = document.client
    line(f"Клиент: {client.full_name}", size=11, height=6)
    line(f"Телефон: {document.phone}")
    if client.email:
        line(f"Электронная почта: {client.email}")
    line(f"Способ связи: {document.channels}")
    line(f"Выдано: {document.generated_at_local}, {document.generated_by}")
    line(f"Событий: {len(document.rows)}. Время {document.time_zone_label}.", gray=90)
    pdf.ln(3)
    if not document.rows:
        line("Событий нет.")
    for row in document.rows:
        pdf.set_draw_color(200)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(1)
        line(f"{row.at_local} · {row.label}", size=10.5, height=5.5)
        who = row.actor + (f" · {row.channel_label}" if row.channel_label else "")
        if who:
            line(who, size=8.5, height=4.5, gray=90)
        line(row.summary, size=9.5)
        if row.message:
            line(row.message, size=8.5, height=4.5, gray=60)
        pdf.ln(1.5)
    return bytes(pdf.output())
