"""What the administrator and the monitoring see of the printers: paper, stale jobs."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import login_as
from tests.emulator.escpos_printer import EmulatedPrinter
from tests.factories import make_booking, make_device
from visits.calendar import WorkCalendar, utcnow
from visits.models import DeviceKind, PrintJob, Ticket
from visits.services.checkin import checkin_booking
from visits.services.printing import STALE_CLAIM, print_job_run, print_jobs_retry


def _metric(client: FlaskClient, name: str) -> int:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(f"{name} "):
            return int(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


def test_paper_near_end_shows_on_the_day_view_the_alert_and_metrics(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    assert _metric(client, "priyom_printers_paper_near_end") == 0
    with EmulatedPrinter() as printer:
        printer.paper = "near_end"
        kiosk, _ = make_device(
            session, DeviceKind.KIOSK, name="Терминал у входа", printer_uri=printer.uri
        )
        booking = make_booking(session, calendar)
        result = checkin_booking(
            session=session,
            calendar=calendar,
            booking_id=booking.id,
            device_id=kiosk.id,
            now=booking.starts_at - timedelta(minutes=10),
        )
        assert print_job_run(session=session, calendar=calendar, job_id=result.print_job_id).printed
    assert _metric(client, "priyom_printers_paper_near_end") == 1
    login_as(client, "admin")
    day = client.get("/staff/admin/day").get_data(as_text=True)
    assert "Бумага скоро закончится: замените рулон" in day
    alert = client.get("/staff/devices/alert").get_data(as_text=True)
    assert "Принтер терминала «Терминал у входа»: бумага скоро закончится. Замените рулон." in alert


def test_a_stale_claim_is_counted_until_the_scheduler_takes_it_back(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    kiosk, _ = make_device(session, DeviceKind.KIOSK)
    booking = make_booking(session, calendar)
    result = checkin_booking(
        session=session,
        calendar=calendar,
        booking_id=booking.id,
        device_id=kiosk.id,
        now=booking.starts_at - timedelta(minutes=10),
    )
    ticket = session.get(Ticket, result.info.ticket_id)
    job = session.get(PrintJob, result.print_job_id)
    assert ticket is not None and job is not None
    # A process claimed the job and was killed (kill -9) before it finished.
    job.status, job.claimed_by = "printing", "killed:9"
    job.claimed_at = min(utcnow(), ticket.checked_in_at) - STALE_CLAIM - timedelta(minutes=1)
    session.add(job)
    session.commit()
    assert _metric(client, "priyom_print_jobs_stale") == 1
    # The scheduler's retry takes it back and prints it on the (virtual) printer.
    printed = print_jobs_retry(
        session=session, calendar=calendar, now=ticket.checked_in_at + timedelta(minutes=1)
    )
    assert printed == 1
    assert _metric(client, "priyom_print_jobs_stale") == 0
    session.refresh(job)
    assert job.status == "done" and job.attempts == 1
