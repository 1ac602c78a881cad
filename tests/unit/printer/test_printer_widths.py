"""Every paper width prints whole words within its columns, and the preview is the print.

The bytes are read back by the test printer emulator (tests/emulator), which parses
ESC/POS on its own, not with the `printer` package's decoder.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from printer import PrinterSettings, TicketLayout, render_bytes_png, render_ticket
from printer.layout import plain_text
from printer.preview import preview_page
from tests.emulator.escpos_printer import Ticket, decode_job

LONG = {
    "department": "Территориальный отдел Управления Федеральной налоговой службы",
    "number": "Б-127",
    "greeting": "Здравствуйте, Константин Александрович!",
    "service": "Регистрация индивидуального предпринимателя и внесение изменений в ЕГРИП",
    "booked_time": "10:30",
    "specialist": "Вознесенская-Преображенская Александра Вячеславовна",
    "room_line": "Кабинет 305, 3 этаж, северное крыло",
    "route": (
        "Поднимитесь на лифте на третий этаж, поверните направо у стенда с образцами "
        "заявлений, пройдите до конца коридора мимо зоны ожидания; кабинет слева от окна"
    ),
    "qr_url": "https://priyom.example.ru/t/3f9a0c7d1e2b4a5f",
    "issued_at": "28.11.2026 10:12",
    "phones": "Телефоны: +7 (383) 000-00-00, +7 (383) 000-00-01",
    "footer": "По QR-коду — статус талона и оценка приёма.",
}
# (model, paper, columns, native QR) as the device form fills them from the profile.
WIDTHS = [("POS-5890", 58, 32, False), ("TM-T88V", 80, 42, True), ("TM-T20II", 80, 48, True)]


def printed(layout: TicketLayout, settings: PrinterSettings) -> Ticket:
    tickets = decode_job(render_ticket(layout, settings), cutter=settings.profile != "POS-5890")
    assert len(tickets) == 1
    return tickets[0]


@pytest.mark.parametrize(("profile", "paper", "columns", "native"), WIDTHS)
def test_no_line_is_wider_than_the_paper_and_no_word_is_broken(
    profile: str, paper: int, columns: int, native: bool
) -> None:
    settings = PrinterSettings(
        profile=profile, paper_width_chars=columns, native_qr=native, paper_mm=paper
    )
    ticket = printed(TicketLayout(**LONG), settings)

    assert ticket.code_page == "cp866"
    for line in ticket.lines:
        assert len(line.text) * line.scale <= columns, line.text
    tokens = {token for line in ticket.lines for token in line.text.split()}
    for key in ("department", "greeting", "service", "specialist", "room_line", "route", "phones"):
        for word in plain_text(LONG[key]).split():
            assert word in tokens, f"{key}: «{word}» is broken at {columns} columns"
    rules = [line.text for line in ticket.lines if set(line.text) == {"-"}]
    assert rules and all(len(rule) == columns for rule in rules)


@pytest.mark.parametrize(("profile", "paper", "columns", "native"), WIDTHS)
def test_the_preview_shows_the_printed_text_and_qr_code(
    profile: str, paper: int, columns: int, native: bool
) -> None:
    layout = TicketLayout(**{**LONG, "greeting": "Здравствуйте, Іван Әлиевич!"})
    settings = PrinterSettings(
        profile=profile, paper_width_chars=columns, native_qr=native, paper_mm=paper
    )
    ticket = printed(layout, settings)
    page = preview_page(layout, settings)

    assert [(line.text, line.width_scale) for line in page.lines] == [
        (line.text, line.scale) for line in ticket.lines
    ]
    # Letters CP866 lacks are spelt alike in both, never "?".
    assert "Здравствуйте, Iван Алиевич!" in ticket.text and "?" not in ticket.text
    if native:
        assert [(q.data, q.error_correction, q.module_dots) for q in page.qr_codes] == [
            (q.data, q.error_correction, q.module_dots) for q in ticket.qr
        ]
        assert ticket.qr[0].error_correction == "M"
    else:
        assert ticket.qr == [] and ticket.images  # a raster QR code, drawn from its bits


@pytest.mark.parametrize(("profile", "columns"), [("POS-5890", 32), ("TM-T20II", 48)])
def test_the_preview_uses_the_printers_12_dot_characters(profile: str, columns: int) -> None:
    settings = PrinterSettings(profile=profile, paper_width_chars=columns)
    slot = b"\x3b" if profile == "POS-5890" else b"\x11"  # CP866's slot in each profile
    data = b"\x1b@\x1bt" + slot + "Ж".encode("cp866") * columns + b"\n"
    image = Image.open(io.BytesIO(render_bytes_png(data, settings))).convert("L")
    left, _top, right, _bottom = image.point(lambda v: 255 if v < 128 else 0).getbbox() or (
        0,
        0,
        0,
        0,
    )

    assert image.width == settings.paper_width_px
    # The ink of a full line spans the line's dots (12 a character), not 14 % more.
    assert columns * 12 * 0.95 <= right - left <= columns * 12
