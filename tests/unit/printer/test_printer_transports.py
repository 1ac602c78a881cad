"""Transports chosen by URI: a real local TCP socket, files, the virtual printer."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from printer import PrinterError, PrinterStatus, VirtualPrinter, transport_from_uri
from printer.status import combine
from printer.transports import FileTransport, SerialTransport, TcpTransport, UsbTransport

JOIN = 5.0  # generous bound for helper threads; nothing waits this long when things work


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket on a free port that nobody accepts on unless a test does."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock
    sock.close()


def uri_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()
    return f"tcp://{host}:{port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def fake_printer(
    listener: socket.socket, answers: dict[int, int], received: bytearray, connections: int = 1
) -> threading.Thread:
    """Serve `connections` clients: answer each DLE EOT n with answers[n], keep other bytes."""

    def serve() -> None:
        for _ in range(connections):
            conn, _ = listener.accept()
            with conn:
                pending = b""
                while chunk := conn.recv(65536):
                    pending += chunk
                    while (at := pending.find(b"\x10\x04")) != -1 and len(pending) >= at + 3:
                        received.extend(pending[:at])
                        conn.sendall(bytes([answers[pending[at + 2]]]))
                        pending = pending[at + 3 :]
                received.extend(pending)

    return in_thread(serve)


def test_tcp_job_arrives_whole(listener: socket.socket) -> None:
    received = bytearray()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            while chunk := conn.recv(65536):
                received.extend(chunk)

    server = in_thread(serve)
    job = bytes(range(256)) * 2000  # 512 KB: many chunks, more than the socket buffers

    status = transport_from_uri(uri_of(listener) + "?status=0").send(job)
    server.join(JOIN)

    assert not server.is_alive()
    assert bytes(received) == job
    assert status.online is None and not status.confirmed


def test_tcp_status_questions_are_not_held_back_by_nagle(listener: socket.socket) -> None:
    """The three-byte DLE EOT after a job goes at once, not after the job's delayed ACK."""
    transport = transport_from_uri(uri_of(listener))
    assert isinstance(transport, TcpTransport)
    with transport._connect(1.0) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_tcp_job_is_confirmed_by_the_answers_after_it(listener: socket.socket) -> None:
    received = bytearray()
    job = bytes(range(256)) * 2000  # no DLE EOT inside: 0x10 is always followed by 0x11
    server = fake_printer(listener, {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E}, received)

    status = transport_from_uri(uri_of(listener)).send(job)
    server.join(JOIN)

    assert bytes(received) == job
    assert status == PrinterStatus(online=True, paper="near_end", confirmed=True)


def test_tcp_refused_connection() -> None:
    transport = transport_from_uri(f"tcp://127.0.0.1:{free_port()}", timeout=0.3)

    with pytest.raises(PrinterError) as caught:
        transport.send(b"ticket")

    assert caught.value.reason_code == "refused"
    assert caught.value.message


def test_tcp_small_job_to_a_printer_that_never_reads_is_sent_unconfirmed(
    listener: socket.socket,
) -> None:
    status = transport_from_uri(uri_of(listener) + "?status=0", timeout=0.3).send(b"\x1b@t\n")

    assert status.online is None and not status.confirmed


def test_tcp_job_to_a_printer_that_never_answers_fails_before_sending(
    listener: socket.socket,
) -> None:
    with pytest.raises(PrinterError) as caught:
        transport_from_uri(uri_of(listener), timeout=0.3).send(b"\x1b@ticket\n")

    assert caught.value.reason_code == "timeout"
    assert caught.value.message == "Принтер не ответил на запрос состояния"


def test_tcp_status_of_a_printer_that_never_answers_is_unknown(listener: socket.socket) -> None:
    transport = transport_from_uri(uri_of(listener), timeout=0.3)
    result: list[PrinterStatus] = []

    worker = in_thread(lambda: result.append(transport.status()))
    worker.join(JOIN)

    assert not worker.is_alive()
    assert result == [PrinterStatus(online=None, paper="unknown", error=None)]


def test_tcp_status_of_a_refusing_printer_is_offline() -> None:
    status = transport_from_uri(f"tcp://127.0.0.1:{free_port()}", timeout=0.3).status()

    assert status.online is False
    assert status.error == "Принтер отклонил подключение"


def test_tcp_status_reads_dle_eot_answers(listener: socket.socket) -> None:
    received = bytearray()
    server = fake_printer(listener, {1: 0x12, 4: 0x1E}, received)

    status = transport_from_uri(uri_of(listener)).status()
    server.join(JOIN)

    assert status == PrinterStatus(online=True, paper="near_end", error=None)


def test_tcp_status_reports_paper_out(listener: socket.socket) -> None:
    server = fake_printer(listener, {1: 0x1A, 2: 0x32, 4: 0x72}, bytearray())

    status = transport_from_uri(uri_of(listener)).status()
    server.join(JOIN)

    assert status == PrinterStatus(online=False, paper="out", error="В принтере закончилась бумага")


def test_tcp_job_is_refused_before_sending_when_paper_is_out(listener: socket.socket) -> None:
    received = bytearray()
    server = fake_printer(listener, {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x72}, received)

    with pytest.raises(PrinterError) as caught:
        transport_from_uri(uri_of(listener)).send(b"ticket")
    server.join(JOIN)

    assert caught.value.reason_code == "paper_out"
    assert caught.value.message == "В принтере закончилась бумага"
    assert b"ticket" not in received


def test_tcp_job_is_refused_before_sending_when_the_cover_is_open(
    listener: socket.socket,
) -> None:
    server = fake_printer(listener, {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12}, bytearray())

    with pytest.raises(PrinterError) as caught:
        transport_from_uri(uri_of(listener)).send(b"ticket")
    server.join(JOIN)

    assert caught.value.reason_code == "cover_open"


def test_tcp_job_is_refused_when_the_printer_reports_an_error(listener: socket.socket) -> None:
    received = bytearray()
    # Online, but DLE EOT 3 says the autocutter failed.
    server = fake_printer(listener, {1: 0x12, 2: 0x12, 3: 0x1A, 4: 0x12}, received)

    with pytest.raises(PrinterError) as caught:
        transport_from_uri(uri_of(listener) + "?clear=0").send(b"ticket")
    server.join(JOIN)

    assert caught.value.reason_code == "error"
    assert "ножа" in caught.value.message
    assert bytes(received) == b""


def test_status_combines_answers() -> None:
    assert combine(None, None, None) == PrinterStatus(online=None)
    assert combine(0x12, 0x12, None) == PrinterStatus(online=True, paper="ok")
    assert combine(0x12, None, None) == PrinterStatus(online=True, paper="unknown")
    cover = combine(0x1A, 0x12, 0x16)
    assert cover == PrinterStatus(online=False, paper="ok", error="Открыта крышка принтера")


def test_file_transport_appends_jobs(tmp_path: Path) -> None:
    target = tmp_path / "lp0"
    target.touch()
    transport = transport_from_uri(f"file://{target}")

    transport.send(b"first")
    status = transport.send(b"second")

    assert target.read_bytes() == b"firstsecond"
    assert transport.status().online is None
    assert status.online is None and not status.confirmed


def test_file_transport_missing_device_is_offline(tmp_path: Path) -> None:
    transport = transport_from_uri(f"file://{tmp_path}/lp0")

    with pytest.raises(PrinterError) as caught:
        transport.send(b"ticket")

    assert caught.value.reason_code == "offline"
    assert not (tmp_path / "lp0").exists()
    assert transport.status().online is False


def test_file_transport_gives_up_on_a_device_that_takes_nothing(tmp_path: Path) -> None:
    fifo = tmp_path / "stuck"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, never read
    try:
        with pytest.raises(PrinterError) as caught:
            FileTransport(str(fifo), timeout=0.2).send(b"x" * 1_000_000)
    finally:
        os.close(reader)

    assert caught.value.reason_code == "timeout"


def test_usb_uri_is_parsed_and_failures_are_printer_errors() -> None:
    transport = transport_from_uri("usb://04b8:0e15?out_ep=0x02", timeout=0.3)

    assert isinstance(transport, UsbTransport)
    assert (transport.vendor_id, transport.product_id, transport.out_ep) == (0x04B8, 0x0E15, 2)
    with pytest.raises(PrinterError) as caught:
        transport.send(b"ticket")
    assert caught.value.reason_code in {"io", "offline"}
    assert transport.status().online is False


def test_serial_uri_is_parsed_and_failures_are_printer_errors() -> None:
    transport = transport_from_uri("serial:///dev/ttyNOPE9?baudrate=19200", timeout=0.3)

    assert isinstance(transport, SerialTransport)
    assert (transport.port, transport.baudrate) == ("/dev/ttyNOPE9", 19200)
    with pytest.raises(PrinterError) as caught:
        transport.send(b"ticket")
    assert caught.value.reason_code in {"io", "offline"}
    if importlib.util.find_spec("serial") is None:
        assert caught.value.reason_code == "io"


def test_tcp_uri_defaults_to_port_9100() -> None:
    transport = transport_from_uri("tcp://printer.local")

    assert isinstance(transport, TcpTransport)
    assert (transport.host, transport.port, transport.confirms) == ("printer.local", 9100, True)
    assert not transport_from_uri("tcp://printer.local", confirm=False).confirms
    assert not transport_from_uri("file:///dev/usb/lp0").confirms


@pytest.mark.parametrize(
    "uri", ["lpt://printer", "printer-1", "http://printer:9100", "tcp://:9100", "usb://zz:01"]
)
def test_bad_uri_is_a_value_error_naming_it(uri: str) -> None:
    with pytest.raises(ValueError, match=uri.replace("?", r"\?")):
        transport_from_uri(uri)


def test_virtual_uri_gives_the_same_printer_per_name() -> None:
    name = f"kiosk-{uuid.uuid4().hex}"

    first = transport_from_uri(f"virtual://{name}")
    again = transport_from_uri(f"virtual://{name}")
    other = transport_from_uri(f"virtual://{name}-2")

    assert isinstance(first, VirtualPrinter)
    assert first is again
    assert other is not first


def test_virtual_printer_keeps_the_last_50_jobs() -> None:
    printer = VirtualPrinter("bounded")

    for index in range(60):
        printer.send(f"job {index}".encode(), preview=b"\x89PNG")

    jobs = printer.jobs
    assert len(jobs) == 50
    assert jobs[0].data == b"job 10"
    assert printer.last_job is not None
    assert printer.last_job.data == b"job 59"
    assert printer.status() == PrinterStatus(online=True, paper="ok")


def test_virtual_printer_is_thread_safe() -> None:
    printer = VirtualPrinter("threads")
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for index in range(25):
            printer.send(bytes([index]))

    threads = [in_thread(worker) for _ in range(8)]
    for thread in threads:
        thread.join(JOIN)

    assert not any(thread.is_alive() for thread in threads)
    assert len(printer.jobs) == 50


def test_virtual_printer_can_pretend_to_fail() -> None:
    printer = VirtualPrinter("failing")
    printer.fail_with("cover_open")

    with pytest.raises(PrinterError) as caught:
        printer.send(b"ticket")

    assert caught.value.reason_code == "cover_open"
    assert printer.status().online is False
    printer.clear()
    printer.send(b"ticket")
    assert len(printer.jobs) == 1


def test_printer_error_rejects_unknown_codes() -> None:
    with pytest.raises(ValueError):
        PrinterError("jammed")  # type: ignore[arg-type]
    assert str(PrinterError("timeout")) == "Принтер не отвечает"


class _FakePyUsbDevice:
    """The opened pyusb device: bulk writes recorded, DLE EOT answered "all is well"."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, bytes, int]] = []

    def write(self, endpoint: int, data: bytes, timeout: int) -> int:
        self.writes.append((endpoint, bytes(data), timeout))
        return len(data)

    def read(self, endpoint: int, size: int, timeout: int) -> bytes:
        return b"\x12"


class _FakeEscposUsb:
    """What escpos.printer.Usb offers publicly once opened: its `device`, nothing private."""

    def __init__(self) -> None:
        self.device = _FakePyUsbDevice()


@pytest.mark.parametrize("confirm", [False, True])
def test_usb_job_goes_to_the_out_endpoint_through_the_public_device(
    monkeypatch: pytest.MonkeyPatch, confirm: bool
) -> None:
    printer = _FakeEscposUsb()

    @contextlib.contextmanager
    def opened(_self: UsbTransport) -> Iterator[_FakeEscposUsb]:
        yield printer

    monkeypatch.setattr(UsbTransport, "_opened", opened)
    transport = UsbTransport(0x04B8, 0x0E15, timeout=0.3, out_ep=0x02, confirm=confirm)
    status = transport.send(b"ticket")
    jobs = [write for write in printer.device.writes if write[1] == b"ticket"]
    assert jobs == [(0x02, b"ticket", 300)]
    assert status.confirmed is confirm
