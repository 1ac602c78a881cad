"""The ticket as ESC/POS bytes and as a PNG preview."""

from __future__ import annotations

import io
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image

from printer import (
    PrinterError,
    PrinterSettings,
    PrinterStatus,
    TicketLayout,
    VirtualPrinter,
    print_ticket,
    render_preview_png,
    render_ticket,
)
from printer import preview as preview_module
from printer.escpos_render import QR_SIZE, raster_qr
from printer.layout import (
    FeedBlock,
    QrBlock,
    TextBlock,
    number_scale,
    plain_text,
    ticket_blocks,
    wrap,
)

ROUTE = (
    "Поднимитесь на лифте на третий этаж, поверните направо и пройдите "
    "до конца коридора, кабинет слева от окна"
)

EPSON = ["TM-T88V", "TM-T20II", "TM-T88III"]
ALL_PROFILES = [*EPSON, "POS-5890"]
ESC_T = b"\x1bt"
GS_QR = b"\x1d(k"
GS_RASTER = b"\x1dv0"
GS_CUT = b"\x1dV"


def make_layout(**overrides: str) -> TicketLayout:
    fields = {
        "department": "Центр государственных услуг",
        "number": "А-001",
        "greeting": "Здравствуйте, Иван Петрович!",
        "service": "Замена паспорта",
        "booked_time": "10:30",
        "specialist": "Смирнова Ольга Николаевна",
        "room_line": "Кабинет 305, 3 этаж",
        "route": ROUTE,
        "qr_url": "https://priyom.example.ru/t/A-001?k=3f9a0c",
        "issued_at": "28.11.2026 10:12",
        "phones": "Справки: +7 (383) 000-00-00",
    }
    fields.update(overrides)
    return TicketLayout(**fields)


def settings_for(profile: str, *, native_qr: bool = True) -> PrinterSettings:
    width = 32 if profile == "POS-5890" else 42
    return PrinterSettings(profile=profile, paper_width_chars=width, native_qr=native_qr)


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_cyrillic_goes_out_as_cp866_after_one_code_page_command(profile: str) -> None:
    layout = make_layout(department="Отдел «Центр госуслуг» — приём граждан", footer="Спасибо 🙂")

    data = render_ticket(layout, settings_for(profile))

    assert data.count(ESC_T) == 1
    assert data.index(ESC_T) < data.index("Здравствуйте".encode("cp866"))
    assert "Иван Петрович!".encode("cp866") in data
    assert "А-001".encode("cp866") in data
    assert 'Отдел "Центр госуслуг" -'.encode("cp866") in data
    assert "Спасибо ?".encode("cp866") in data


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_text_sent_as_cp866_is_what_python_escpos_would_send(profile: str) -> None:
    # render_ticket encodes its lines with Python's cp866 codec, not python-escpos's
    # per-character encoder: the two must agree on every printable character of the page.
    every = "".join(bytes([code]).decode("cp866") for code in range(32, 256) if code != 127)
    printer = Dummy(profile=profile)
    printer.charcode("CP866")
    before = len(printer.output)

    printer.textln(every)

    assert printer.output[before:] == every.encode("cp866") + b"\n"


def _ticket_by_python_escpos(layout: TicketLayout, settings: PrinterSettings) -> bytes:
    """The ticket drawn with python-escpos's own calls only: what render_ticket must send."""
    printer = Dummy(profile=settings.profile)
    printer.hw("INIT")
    if "CP866" in printer.profile.get_code_pages():
        printer.charcode("CP866")
    for block in ticket_blocks(layout, settings):
        if isinstance(block, TextBlock):
            printer.set(align=block.align, bold=block.bold)
            if block.scale > 1:
                printer.set(custom_size=True, width=block.scale, height=block.scale, smooth=True)
            for line in block.lines:
                printer.textln(line)
            if block.scale > 1:
                printer.set(custom_size=True, width=1, height=1, smooth=False)
        elif isinstance(block, QrBlock):
            if settings.native_qr:
                printer.set(align="center")
                printer.qr(block.url, native=True, size=QR_SIZE, ec=QR_ECLEVEL_M)
                printer.set(align="left")
            else:
                printer.image(raster_qr(block.url, settings.paper_width_px), center=False)
        elif isinstance(block, FeedBlock):
            printer.ln(block.count)
    printer.set(align="left")
    printer.cut()
    output: bytes = printer.output
    return output


@pytest.mark.parametrize("profile", ALL_PROFILES)
@pytest.mark.parametrize("native_qr", [True, False])
def test_the_ticket_is_the_bytes_python_escpos_makes(profile: str, native_qr: bool) -> None:
    # render_ticket writes the lines itself and caches a text block's bytes: the whole
    # ticket stays byte for byte what python-escpos's own calls send, the second time too.
    settings = settings_for(profile, native_qr=native_qr)
    for layout in (make_layout(), make_layout(specialist="", booked_time="", number="Б-1024")):
        expected = _ticket_by_python_escpos(layout, settings)

        assert render_ticket(layout, settings) == expected
        assert render_ticket(layout, settings) == expected


@pytest.mark.parametrize(
    ("profile", "slot"), [("TM-T88V", 17), ("TM-T20II", 17), ("TM-T88III", 17), ("POS-5890", 59)]
)
def test_cp866_slot_comes_from_the_profile(profile: str, slot: int) -> None:
    data = render_ticket(make_layout(), settings_for(profile))

    assert ESC_T + bytes([slot]) in data


def test_number_is_printed_four_times_larger() -> None:
    data = render_ticket(make_layout(number="А-001"), settings_for("TM-T20II"))

    size_4x = b"\x1d!\x33"
    assert data.index(size_4x) < data.index("А-001".encode("cp866")) < data.index(b"\x1d!\x00")


def test_number_shrinks_to_fit_the_paper() -> None:
    assert number_scale("А-001", 32) == 4
    assert number_scale("ПМ-000123", 32) == 3
    assert number_scale("ПМ-000123-ОЧЕРЕДЬ", 32) == 1


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_native_qr_uses_gs_k(profile: str) -> None:
    data = render_ticket(make_layout(), settings_for(profile, native_qr=True))

    assert GS_QR in data
    assert b"priyom.example.ru/t/A-001?k=3f9a0c" in data
    assert GS_RASTER not in data


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_raster_qr_uses_gs_v0(profile: str) -> None:
    data = render_ticket(make_layout(), settings_for(profile, native_qr=False))

    assert GS_RASTER in data
    assert GS_QR not in data
    assert "Здравствуйте".encode("cp866") in data


def test_long_url_raster_qr_still_fits_58mm_paper() -> None:
    url = "https://priyom.example.ru/t/" + "x" * 300

    data = render_ticket(make_layout(qr_url=url), settings_for("POS-5890", native_qr=False))

    assert GS_RASTER in data


@pytest.mark.parametrize("profile", EPSON)
def test_ticket_ends_with_a_cut(profile: str) -> None:
    data = render_ticket(make_layout(), settings_for(profile))

    assert GS_CUT in data[-8:]


def test_printer_without_cutter_only_feeds() -> None:
    data = render_ticket(make_layout(), settings_for("POS-5890"))

    assert GS_CUT not in data
    assert data.endswith(b"\x1bd\x06")


def route_lines(data: bytes, route: str) -> list[str]:
    """Return the route as printed: the lines between its first and last word."""
    words = route.split()
    start = data.index(words[0].encode("cp866"))
    end = data.index(words[-1].encode("cp866"), start) + len(words[-1].encode("cp866"))
    return data[start:end].decode("cp866").split("\n")


@pytest.mark.parametrize("width", [42, 32])
def test_route_is_wrapped_to_paper_width_between_words(width: int) -> None:
    settings = PrinterSettings(profile="TM-T20II", paper_width_chars=width)

    lines = route_lines(render_ticket(make_layout(), settings), ROUTE)

    assert len(lines) > 1
    assert all(len(line) <= width for line in lines)
    assert " ".join(lines) == ROUTE


def test_a_word_longer_than_the_paper_is_not_broken() -> None:
    long_word = "Северо-Западный-административно-хозяйственный-корпус"

    assert wrap(f"Корпус {long_word} вход", 32) == ("Корпус", long_word, "вход")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Кабинет 305, 3 этаж",
        "  Вход  со\tдвора,\n второй   подъезд  ",
        "Ровно сорок два знака шириной: 1234567890",
        "Ровно сорок два знака шириной: 12345678901",
        "«Кавычки» — и тире… с\u00a0пробелом",
        "Ünïcödé Қазақ",
        ROUTE,
    ],
)
@pytest.mark.parametrize("width", [16, 32, 41, 42, 48])
def test_wrap_gives_what_textwrap_gives(text: str, width: int) -> None:
    # wrap() skips textwrap for a line that fits and caches its answers: the lines stay
    # exactly what textwrap makes of the printable text.
    expected = tuple(
        textwrap.wrap(plain_text(text), width=width, break_long_words=False, break_on_hyphens=False)
    )

    assert wrap(text, width) == expected
    assert wrap(text, width) == expected  # the cached answer


def test_empty_fields_are_left_out() -> None:
    data = render_ticket(make_layout(specialist="", booked_time=""), settings_for("TM-T20II"))

    assert "Специалист".encode("cp866") not in data
    assert "Время".encode("cp866") not in data


def test_unknown_profile_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="NO-SUCH-PRINTER"):
        render_ticket(make_layout(), PrinterSettings(profile="NO-SUCH-PRINTER"))


def test_paper_width_is_checked() -> None:
    with pytest.raises(ValueError, match="paper_width_chars"):
        PrinterSettings(paper_width_chars=0)


def png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.size


@pytest.mark.parametrize(("chars", "width_px"), [(42, 576), (32, 384)])
def test_preview_is_a_png_as_wide_as_the_paper(chars: int, width_px: int) -> None:
    png = render_preview_png(make_layout(), PrinterSettings(paper_width_chars=chars))

    assert png.startswith(b"\x89PNG")
    width, height = png_size(png)
    assert width == width_px
    assert height > width


def test_preview_grows_with_the_route() -> None:
    settings = PrinterSettings()
    short = render_preview_png(make_layout(route="Направо"), settings)
    long = render_preview_png(make_layout(route=ROUTE * 3), settings)

    assert png_size(long)[1] > png_size(short)[1]


def test_preview_works_without_dejavu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(preview_module, "FONT_DIRS", (tmp_path,))
    preview_module._load_font.cache_clear()
    try:
        png = render_preview_png(make_layout(), PrinterSettings())
    finally:
        preview_module._load_font.cache_clear()

    assert png.startswith(b"\x89PNG")
    assert png_size(png)[0] == 576


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    @property
    def confirms(self) -> bool:
        return True

    def send(self, data: bytes) -> PrinterStatus:
        self.sent.append(data)
        return PrinterStatus(online=True, paper="ok", confirmed=True)

    def status(self) -> PrinterStatus:
        return PrinterStatus(online=True, paper="ok")


def test_print_ticket_sends_the_rendered_bytes() -> None:
    transport = RecordingTransport()
    settings = settings_for("TM-T20II")

    printed = print_ticket(make_layout(), settings, transport)

    assert transport.sent == [printed.data]
    assert printed.data == render_ticket(make_layout(), settings)
    assert printed.status.confirmed


def test_print_ticket_keeps_a_preview_on_the_virtual_printer() -> None:
    printer = VirtualPrinter("test-preview")

    printed = print_ticket(make_layout(), PrinterSettings(), printer)

    job = printer.last_job
    assert job is not None
    assert job.data == printed.data
    assert job.preview_png is not None
    assert job.preview_png.startswith(b"\x89PNG")


def test_print_ticket_raises_when_the_printer_fails() -> None:
    printer = VirtualPrinter("test-fail")
    printer.fail_with("paper_out")

    with pytest.raises(PrinterError) as caught:
        print_ticket(replace(make_layout(), footer="x"), PrinterSettings(), printer)

    assert caught.value.reason_code == "paper_out"
    assert caught.value.message == "В принтере закончилась бумага"
    assert printer.jobs == []


def test_a_raster_qr_never_exceeds_the_models_own_width() -> None:
    # A 58 mm model told it has 80 mm paper still gets an image its 384 dots can print.
    settings = PrinterSettings(
        profile="POS-5890", paper_width_chars=32, paper_mm=80, native_qr=False
    )

    assert settings.paper_width_px == 384
    assert GS_RASTER in render_ticket(make_layout(), settings)
