"""Printing against a printer emulator on the loopback that answers DLE EOT and breaks on cue.

For each fault: the job's final state and reason, the alert, the retry when the printer
is back, and the ticket coming out of the printer exactly once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.emulator.escpos_printer import EmulatedPrinter
from tests.factories import make_booking, make_device
from visits.calendar import WorkCalendar
from visits.models import Device, DeviceKind, PrintJob, PushEvent, Ticket
from visits.services.checkin import CheckinResult, checkin_booking
from visits.services.printing import (
    STALE_CLAIM,
    STALE_MESSAGE,
    print_job_run,
    print_jobs_retry,
)

# About a third of a ticket: after the header, before the QR code and the cut.
MID_TICKET = 200


def _checked_in(
    session: Session, calendar: WorkCalendar, printer_uri: str, **device: object
) -> tuple[CheckinResult, Device]:
    kiosk, _ = make_device(session, DeviceKind.KIOSK, printer_uri=printer_uri, **device)
    booking = make_booking(session, calendar)
    result = checkin_booking(
        session=session,
        calendar=calendar,
        booking_id=booking.id,
        device_id=kiosk.id,
        now=booking.starts_at - timedelta(minutes=10),
    )
    return result, kiosk


def _job(session: Session, result: CheckinResult) -> PrintJob:
    job = session.get(PrintJob, result.print_job_id)
    assert job is not None
    session.refresh(job)
    return job


def _later(session: Session, result: CheckinResult) -> object:
    ticket = session.get(Ticket, result.info.ticket_id)
    assert ticket is not None
    return ticket.checked_in_at + timedelta(minutes=1)


def _alerts(session: Session) -> list[dict[str, object]]:
    events = session.exec(select(PushEvent).where(PushEvent.kind == "printer.alert")).all()
    return [e.payload for e in events]


def test_a_ticket_the_printer_confirms_is_done(session: Session, calendar: WorkCalendar) -> None:
    with EmulatedPrinter() as printer:
        result, device = _checked_in(session, calendar, printer.uri)
        outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    assert outcome.status == "done" and outcome.printed
    assert len(printer.printed) == 1 and printer.status_requests == 8  # 4 before, 4 after
    job = _job(session, result)
    assert job.status == "done" and job.sent_data and job.sent_data.startswith(b"\x1b@")
    session.refresh(device)
    assert device.printer_paper == "ok" and device.printer_error == ""


def test_paper_out_before_the_job_sends_nothing_and_prints_once_after_loading(
    session: Session, calendar: WorkCalendar
) -> None:
    with EmulatedPrinter() as printer:
        printer.paper = "out"
        result, device = _checked_in(session, calendar, printer.uri)
        outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
        assert outcome.status == "failed" and outcome.error == "В принтере закончилась бумага"
        assert printer.printed == [] and printer.torn == []
        session.refresh(device)
        assert device.printer_paper == "out"
        later = _later(session, result)
        # Still no paper: the retry asks and leaves the job alone.
        assert print_jobs_retry(session=session, calendar=calendar, now=later) == 0
        printer.load_paper()
        assert print_jobs_retry(session=session, calendar=calendar, now=later) == 1
        assert print_jobs_retry(session=session, calendar=calendar, now=later) == 0
    assert len(printer.printed) == 1 and result.info.number in printer.printed[0].text
    assert _job(session, result).status == "done"
    session.refresh(device)
    assert device.printer_error == "" and device.printer_paper == "ok"
    assert [a.get("resolved", False) for a in _alerts(session) if "paper" not in a] == [False, True]


@pytest.mark.parametrize(
    ("fault", "message"),
    [("paper", "В принтере закончилась бумага"), ("cover", "Открыта крышка принтера")],
)
def test_a_fault_mid_ticket_fails_the_job_and_the_retry_prints_it_once(
    session: Session, calendar: WorkCalendar, fault: str, message: str
) -> None:
    with EmulatedPrinter() as printer:
        result, device = _checked_in(session, calendar, printer.uri)
        if fault == "paper":
            printer.paper_out_after(MID_TICKET)
        else:
            printer.open_cover_after(MID_TICKET)
        outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)

        assert outcome.status == "failed" and outcome.error == message and not outcome.printed
        job = _job(session, result)
        assert job.status == "failed" and job.last_error == message
        session.refresh(device)
        assert device.printer_error == message
        assert _alerts(session)[0]["device_id"] == device.id
        # The half ticket was cleared (DLE DC4 8): fixing the printer does not finish it.
        assert printer.printed == [] and len(printer.torn) == 1
        printer.load_paper()
        printer.close_cover()
        assert printer.printed == []
        assert (
            print_jobs_retry(session=session, calendar=calendar, now=_later(session, result)) == 1
        )
    assert len(printer.printed) == 1 and result.info.number in printer.printed[0].text
    assert _job(session, result).status == "done"


def test_the_plug_pulled_mid_ticket_fails_the_job_and_it_prints_once_when_plugged_in(
    session: Session, calendar: WorkCalendar
) -> None:
    with EmulatedPrinter() as printer:
        result, device = _checked_in(session, calendar, printer.uri)
        printer.pull_plug_after(MID_TICKET)
        outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)

        assert outcome.status == "failed" and not outcome.printed
        assert outcome.error in {
            "Связь с принтером прервалась",
            "Принтер не подтвердил печать: связь прервалась",
        }
        assert outcome.ticket_path == f"/t/{result.info.token}"  # the kiosk shows it on screen
        session.refresh(device)
        assert device.printer_error == outcome.error
        later = _later(session, result)
        # Unplugged: the printer refuses connections, the retry leaves the job alone.
        assert print_jobs_retry(session=session, calendar=calendar, now=later) == 0
        assert _job(session, result).attempts == 1
        printer.plug_in()
        assert print_jobs_retry(session=session, calendar=calendar, now=later) == 1
        assert print_jobs_retry(session=session, calendar=calendar, now=later) == 0
    assert len(printer.printed) == 1 and result.info.number in printer.printed[0].text
    job = _job(session, result)
    assert job.status == "done" and job.attempts == 2


def test_paper_near_end_is_recorded_and_the_administrator_told(
    session: Session, calendar: WorkCalendar
) -> None:
    with EmulatedPrinter() as printer:
        printer.paper = "near_end"
        result, device = _checked_in(session, calendar, printer.uri)
        outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    assert outcome.status == "done" and len(printer.printed) == 1
    session.refresh(device)
    assert device.printer_paper == "near_end" and device.printer_paper_at is not None
    assert {"device_id": device.id, "paper": "near_end"} in _alerts(session)


def test_a_printer_that_cannot_answer_leaves_its_jobs_sent_not_confirmed(
    session: Session, calendar: WorkCalendar, tmp_path: Path
) -> None:
    target = tmp_path / "lp0"
    target.touch()
    result, _device = _checked_in(session, calendar, f"file://{target}", printer_confirms=False)
    outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    assert outcome.status == "sent" and outcome.printed
    assert _job(session, result).status == "sent"
    assert target.read_bytes().startswith(b"\x1b@")


def test_a_claim_left_by_a_dead_process_is_taken_back_and_printed_once(
    session: Session, calendar: WorkCalendar
) -> None:
    with EmulatedPrinter() as printer:
        result, device = _checked_in(session, calendar, printer.uri)
        job = _job(session, result)
        later = _later(session, result)
        # A process claimed the job and was killed before printing it.
        job.status, job.claimed_by, job.claimed_at, job.attempts = "printing", "dead:1", later, 1
        session.add(job)
        session.commit()
        # Before the stale time the claim is respected.
        assert print_jobs_retry(session=session, calendar=calendar, now=later) == 0
        assert _job(session, result).status == "printing"
        stale = later + STALE_CLAIM + timedelta(seconds=1)
        assert print_jobs_retry(session=session, calendar=calendar, now=stale) == 1
    assert len(printer.printed) == 1
    job = _job(session, result)
    assert job.status == "done" and job.attempts == 2
    assert _alerts(session)[0]["device_id"] == device.id
    from visits.models import HistoryEntry

    assert session.exec(select(HistoryEntry).where(HistoryEntry.ticket_id == job.ticket_id)).all()
    assert STALE_MESSAGE


def test_a_model_without_dle_dc4_is_not_sent_the_clear_command(
    session: Session, calendar: WorkCalendar
) -> None:
    with EmulatedPrinter() as printer:
        result, _device = _checked_in(
            session, calendar, printer.uri, printer_profile="POS-5890", printer_paper_mm=58
        )
        printer.paper_out_after(MID_TICKET)
        outcome = print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
        assert outcome.status == "failed" and outcome.error == "В принтере закончилась бумага"
        # Nothing was cleared: the half ticket still waits in the printer for its paper.
        assert printer.torn == [] and printer.printed == []
