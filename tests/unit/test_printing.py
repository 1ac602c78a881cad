"""Printing tickets: real bytes at a socket, printer faults, retries that print once."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from printer import VirtualPrinter, transport_from_uri
from tests.conftest import Database
from tests.emulator.escpos_printer import EmulatedPrinter
from tests.factories import make_booking, make_device, next_working_moment, staff_by_login
from visits.calendar import WorkCalendar
from visits.db import make_sessionmaker
from visits.errors import NotFound
from visits.models import (
    AuditEntry,
    Device,
    DeviceKind,
    HistoryEntry,
    HistoryKind,
    PrintJob,
    PushEvent,
    Ticket,
)
from visits.services.checkin import CheckinResult, checkin_booking
from visits.services.printing import (
    ELSEWHERE,
    ELSEWHERE_WINDOW,
    PRINT_TIMEOUT_SECONDS,
    print_job_run,
    print_jobs_retry,
    ticket_reprint,
)


def _checked_in(
    session: Session, calendar: WorkCalendar, printer_uri: str | None = None
) -> tuple[CheckinResult, Device]:
    extra = {"printer_uri": printer_uri} if printer_uri else {}
    device, _ = make_device(session, DeviceKind.KIOSK, **extra)
    booking = make_booking(session, calendar)
    result = checkin_booking(
        session=session,
        calendar=calendar,
        booking_id=booking.id,
        device_id=device.id,
        now=booking.starts_at - timedelta(minutes=10),
    )
    return result, device


def _virtual(device: Device) -> VirtualPrinter:
    printer = transport_from_uri(device.printer_uri or "")
    assert isinstance(printer, VirtualPrinter)
    return printer


def test_job_prints_the_ticket_once_with_cp866_qr_and_cut(
    session: Session, calendar: WorkCalendar
) -> None:
    result, device = _checked_in(session, calendar)
    outcome = print_job_run(
        session=session, calendar=calendar, job_id=result.print_job_id, device_id=device.id
    )
    assert outcome.printed and outcome.status == "done"
    jobs = _virtual(device).jobs
    assert len(jobs) == 1
    data = jobs[0].data
    assert b"\x1bt" in data  # ESC t: the code page
    assert "А-001".encode("cp866") in data
    assert "Здравствуйте, Иван Петрович!".encode("cp866") in data
    assert "Кабинет 305, 3 этаж".encode("cp866") in data
    assert b"\x1d(k" in data and f"/t/{result.info.token}".encode() in data  # native QR
    assert data.endswith(b"\x1dV\x00")  # GS V 0: the cut
    assert jobs[0].preview_png is not None and jobs[0].preview_png.startswith(b"\x89PNG")
    assert session.exec(
        select(HistoryEntry).where(HistoryEntry.kind == HistoryKind.TICKET_PRINTED)
    ).one()
    # The same job again (a double tap, a retry): nothing more is printed.
    again = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    assert not again.printed and again.status == "done"
    assert len(_virtual(device).jobs) == 1


def test_only_the_newest_printed_job_of_a_printer_keeps_its_bytes(
    session: Session, calendar: WorkCalendar
) -> None:
    device, _ = make_device(session, DeviceKind.KIOSK)
    other_device, _ = make_device(session, DeviceKind.KIOSK)

    def checked_in(kiosk: Device, staff_login: str, hour: int = 10) -> CheckinResult:
        starts_at = next_working_moment(calendar, hour=hour)
        booking = make_booking(session, calendar, staff_login=staff_login, starts_at=starts_at)
        return checkin_booking(
            session=session,
            calendar=calendar,
            booking_id=booking.id,
            device_id=kiosk.id,
            now=booking.starts_at - timedelta(minutes=10),
        )

    first, other_kiosk = checked_in(device, "ivanova"), checked_in(other_device, "smirnov")
    for result in (first, other_kiosk):
        assert print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    second = checked_in(device, "ivanova", hour=11)
    outcome = print_job_run(session=session, calendar=calendar, job_id=second.print_job_id)

    assert outcome.status == "done"
    jobs = {
        job.id: job
        for job in session.exec(select(PrintJob).execution_options(populate_existing=True))
    }
    # The printer's older job keeps what it was, without its bytes; the newest has them.
    older, newest = jobs[first.print_job_id], jobs[second.print_job_id]
    assert older.status == "done" and older.printed_at is not None and older.sent_data is None
    assert newest.status == "done" and newest.printed_at is not None and newest.last_error == ""
    assert newest.sent_data == _virtual(device).jobs[-1].data
    # Another printer's last job is that printer's preview: it keeps its bytes.
    assert jobs[other_kiosk.print_job_id].sent_data


def test_a_kiosk_cannot_print_another_kiosks_job(session: Session, calendar: WorkCalendar) -> None:
    result, device = _checked_in(session, calendar)
    other, _ = make_device(session, DeviceKind.KIOSK)
    checked_in_at = session.get(Ticket, result.info.ticket_id).checked_in_at
    # Seconds later (the same booking at a second kiosk): the ticket on screen, nothing printed.
    outcome = print_job_run(
        session=session,
        calendar=calendar,
        job_id=result.print_job_id,
        device_id=other.id,
        now=checked_in_at + timedelta(seconds=10),
    )
    assert outcome.status == ELSEWHERE and not outcome.printed
    assert outcome.other_device == device.name
    assert outcome.ticket_path == f"/t/{result.info.token}"
    assert _virtual(device).jobs == [] and _virtual(other).jobs == []
    assert session.get(PrintJob, result.print_job_id).status == "pending"
    # An old job of another kiosk is not this kiosk's business at all.
    with pytest.raises(NotFound):
        print_job_run(
            session=session,
            calendar=calendar,
            job_id=result.print_job_id,
            device_id=other.id,
            now=checked_in_at + ELSEWHERE_WINDOW + timedelta(seconds=1),
        )


def test_bytes_arrive_whole_at_a_tcp_printer(session: Session, calendar: WorkCalendar) -> None:
    with EmulatedPrinter() as printer:
        result, _device = _checked_in(session, calendar, printer.uri)
        outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    assert outcome.printed and outcome.status == "done"
    assert len(printer.printed) == 1
    ticket = printer.printed[0]
    assert ticket.code_page == "cp866"
    assert "А-001" in ticket.text and "Здравствуйте, Иван Петрович!" in ticket.text
    assert ticket.qr[0].data.endswith(f"/t/{result.info.token}")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_fault_handled(session: Session, result: CheckinResult, device: Device) -> None:
    ticket = session.get(Ticket, result.info.ticket_id)
    assert ticket is not None  # the ticket stays issued
    job = session.get(PrintJob, result.print_job_id)
    session.refresh(job)
    assert job.status == "failed" and job.attempts == 1 and job.last_error
    session.refresh(device)
    assert device.printer_error and device.printer_error_at is not None
    alert = session.exec(select(PushEvent).where(PushEvent.kind == "printer.alert")).one()
    assert alert.topics == ["admin"] and alert.payload["device_id"] == device.id


def test_refused_connection_keeps_the_ticket_and_raises_an_alert(
    session: Session, calendar: WorkCalendar
) -> None:
    result, device = _checked_in(session, calendar, f"tcp://127.0.0.1:{_closed_port()}")
    outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    assert outcome.status == "failed" and outcome.error == "Принтер отклонил подключение"
    _assert_fault_handled(session, result, device)


def test_a_printer_that_never_answers_costs_at_most_the_timeout(
    session: Session, calendar: WorkCalendar
) -> None:
    # A listener whose accept queue is full: the kernel drops the next SYN, so
    # connecting hangs exactly like a printer that is switched off on the network.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    try:
        result, device = _checked_in(session, calendar, f"tcp://127.0.0.1:{port}")
        started = time.monotonic()
        outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
        elapsed = time.monotonic() - started
    finally:
        filler.close()
        listener.close()
    assert outcome.status == "failed" and outcome.error == "Принтер не отвечает"
    assert PRINT_TIMEOUT_SECONDS - 0.2 < elapsed < PRINT_TIMEOUT_SECONDS + 1.0
    _assert_fault_handled(session, result, device)


def test_failed_job_is_printed_once_when_the_printer_answers_again(
    session: Session, calendar: WorkCalendar
) -> None:
    result, device = _checked_in(session, calendar)
    printer = _virtual(device)
    printer.fail_with("paper_out")
    outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    assert outcome.error == "В принтере закончилась бумага"
    later = session.get(Ticket, result.info.ticket_id).checked_in_at + timedelta(minutes=1)
    # Still out of paper: the retry asks the printer and leaves the job alone.
    assert print_jobs_retry(session=session, calendar=calendar, now=later) == 0
    assert session.get(PrintJob, result.print_job_id).attempts == 1
    printer.fail_with(None)
    assert print_jobs_retry(session=session, calendar=calendar, now=later) == 1
    assert print_jobs_retry(session=session, calendar=calendar, now=later) == 0
    assert len(printer.jobs) == 1
    session.refresh(device)
    assert device.printer_error == ""
    resolved = session.exec(select(PushEvent).where(PushEvent.kind == "printer.alert")).all()
    # The paper events (out, then ok again) go with their own payload.
    alerts = [e.payload for e in resolved if "paper" not in e.payload]
    assert [a.get("resolved", False) for a in alerts] == [False, True]
    assert [e.payload["paper"] for e in resolved if "paper" in e.payload] == ["out", "ok"]


def test_administrator_reprints_todays_ticket(session: Session, calendar: WorkCalendar) -> None:
    result, device = _checked_in(session, calendar)
    print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    admin = staff_by_login(session, "admin")
    ticket = session.get(Ticket, result.info.ticket_id)
    outcome = ticket_reprint(
        session=session,
        calendar=calendar,
        ticket_id=ticket.id,
        staff=admin,
        now=ticket.checked_in_at + timedelta(minutes=30),
    )
    assert outcome.printed
    assert len(_virtual(device).jobs) == 2
    assert session.get(PrintJob, outcome.job_id).reprint
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "ticket_reprint")).one()
    assert audit.staff_id == admin.id and "А-001" in audit.details


def test_two_retry_processes_never_print_one_job_twice(
    fresh_db: Database, calendar: WorkCalendar
) -> None:
    factory = make_sessionmaker(fresh_db.engine)
    with factory() as session:
        result, device = _checked_in(session, calendar)
        printer = _virtual(device)
        printer.fail_with("offline")
        print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
        later = session.get(Ticket, result.info.ticket_id).checked_in_at + timedelta(minutes=1)
    printer.fail_with(None)

    def retry(worker: str) -> int:
        with factory() as session:
            return print_jobs_retry(session=session, calendar=calendar, worker=worker, now=later)

    with ThreadPoolExecutor(max_workers=6) as pool:
        printed = list(pool.map(retry, [f"w{i}" for i in range(6)]))
    assert sum(printed) == 1
    assert len(printer.jobs) == 1
