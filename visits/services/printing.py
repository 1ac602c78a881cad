"""Printing tickets on the kiosks' printers: one PrintJob row per print.

The check-in commits the ticket and a pending job first; printing comes
after, bounded by the transport timeout, so a dead printer never loses a
ticket. A job is claimed with one atomic UPDATE before it is sent, so two
requests or two processes never print the same job. A job is `done` only when
the printer answered, after the job's bytes, that it is online with paper and
without an error; a printer that cannot answer (a file, a dumb serial port)
leaves its jobs `sent`. Failed jobs, and jobs whose claim outlived a crashed
process, are printed again by `print_jobs_retry` once the printer answers.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import LargeBinary, Row, and_, bindparam, case, literal, null, or_, update
from sqlmodel import Session, col, select

from printer import (
    PROFILES,
    PrintedTicket,
    PrinterError,
    PrinterSettings,
    PrinterStatus,
    TicketLayout,
    Transport,
    print_ticket,
    render_bytes_png,
    transport_from_uri,
)
from printer.status import PaperState
from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig
from visits.db import orm_synced, write_transaction
from visits.errors import InvalidInput, NotFound
from visits.models import (
    PRINT_CLAIM_STALE_AFTER,
    Device,
    DeviceKind,
    HistoryKind,
    PrintJob,
    PrintJobStatus,
    Staff,
    Ticket,
)
from visits.push import push_emit
from visits.queries.ticket_page import (
    TICKET_PATH,
    TicketInfo,
    ticket_info_of,
    ticket_info_select,
)
from visits.services.history import audit_record, history_insert

log = logging.getLogger(__name__)

# The longest a print may hold a request or the retry job (per transport call).
PRINT_TIMEOUT_SECONDS = 2.0
# A claim older than this belongs to a process that died mid-job.
STALE_CLAIM = PRINT_CLAIM_STALE_AFTER
# The kiosk prints its fresh jobs itself; the retry leaves them alone this long.
RETRY_MIN_AGE = timedelta(seconds=20)
# A second kiosk that checks in the same booking within this gets the ticket on screen.
ELSEWHERE_WINDOW = timedelta(minutes=5)
STALE_MESSAGE = "Печать прервалась: сервер остановился во время печати"

TransportFor = Callable[[Device], Transport]


def device_transport(device: Device) -> Transport:
    """The transport of a kiosk's printer URI (virtual://kiosk-<id> when none is set)."""
    uri = device.printer_uri or f"virtual://kiosk-{device.id}"
    model = PROFILES.get(device.printer_profile)
    return transport_from_uri(
        uri,
        timeout=PRINT_TIMEOUT_SECONDS,
        confirm=device.printer_confirms,
        clear_buffer=model.clears_buffer if model else False,
    )


def device_printer_settings(device: Device) -> PrinterSettings:
    return PrinterSettings(
        profile=device.printer_profile,
        paper_width_chars=device.printer_width_chars,
        native_qr=device.printer_native_qr,
        paper_mm=device.printer_paper_mm,
    )


def ticket_layout(info: TicketInfo, config: OfficeConfig) -> TicketLayout:
    """The printed ticket (§31, §5-6): who, where, how to get there, the ticket's own page."""
    office = config.office
    return TicketLayout(
        department=office.short_name,
        number=info.number,
        greeting=info.greeting,
        service=info.service_name,
        booked_time=info.booked_time,
        specialist=info.specialist_name,
        room_line=info.room_line,
        route=info.route,
        qr_url=ticket_url(info, config),
        issued_at=f"{info.checked_in_local:%d.%m.%Y %H:%M}",
        # §19: the lines' hours wherever the numbers are.
        phones="Телефоны: " + config.phones_with_hours(),
        footer="По QR-коду — статус талона и оценка приёма.",
    )


def ticket_url(info: TicketInfo, config: OfficeConfig) -> str:
    return config.office.public_base_url.rstrip("/") + info.path


def worker_name() -> str:
    """Who claims a job: host and process, for the logs and stale claims."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


ELSEWHERE = "elsewhere"  # PrintOutcome.status: the job is another kiosk's


@dataclass(frozen=True)
class PrintOutcome:
    job_id: int
    status: str  # a PrintJobStatus value, or ELSEWHERE
    error: str
    printed: bool  # printed (or, on a printer that cannot say, sent) by this call
    ticket_path: str = ""  # the ticket's own page, for a QR on screen
    other_device: str = ""  # with ELSEWHERE: the kiosk that has the job


def print_job_run(
    *,
    session: Session,
    calendar: WorkCalendar,
    job_id: int,
    worker: str | None = None,
    transport_for: TransportFor = device_transport,
    device_id: int | None = None,
    now: datetime | None = None,
) -> PrintOutcome:
    """Print one job unless someone else has it or it is done; never print it twice.

    With `device_id`, only that device's job (a kiosk prints nothing of another kiosk).
    """
    now = now or utcnow()
    claimed = _claim(session, job_id, worker or worker_name(), now, device_id)
    if claimed is None:
        return _not_claimed(session, job_id, device_id, now)
    job, ticket, device = claimed
    info = ticket_info_of(calendar, ticket)
    # Nothing is held while the printer works: the claim's transaction has committed.
    try:
        printed = print_ticket(
            ticket_layout(info, calendar.config),
            device_printer_settings(device),
            transport_for(device),
        )
    except (PrinterError, ValueError) as exc:
        message = exc.message if isinstance(exc, PrinterError) else "Неверные настройки принтера"
        log.warning("print job %s on %r failed: %s", job_id, device.name, exc)
        _mark_failed(session, job_id, device.id or 0, message, now)
        if isinstance(exc, PrinterError) and exc.reason_code == "paper_out":
            _record_paper(session, device.id or 0, "out", now)
        return PrintOutcome(job_id, PrintJobStatus.FAILED, message, False, info.path)
    status = PrintJobStatus.DONE if printed.status.confirmed else PrintJobStatus.SENT
    _mark_done(session, job, ticket, device, status, printed, utcnow())
    log.info("print job %s: ticket %s %s on %r", job_id, info.number, status.value, device.name)
    return PrintOutcome(job_id, status.value, "", True, info.path)


def _not_claimed(
    session: Session, job_id: int, device_id: int | None, now: datetime
) -> PrintOutcome:
    """Someone else has the job, it is done, or it is another kiosk's: say which."""
    job = session.exec(
        select(PrintJob).where(PrintJob.id == job_id).execution_options(populate_existing=True)
    ).first()
    if job is None:
        raise NotFound("Задание печати не найдено.")
    ticket = session.get(Ticket, job.ticket_id)
    path = TICKET_PATH.format(token=ticket.token) if ticket else ""
    if device_id not in (None, job.device_id):
        # The same booking checked in at two kiosks within seconds: the ticket is printed
        # at the first one; this one shows it on screen. Older jobs stay another kiosk's.
        if job.created_at < now - ELSEWHERE_WINDOW:
            raise NotFound("Задание печати не найдено.")
        other = session.get(Device, job.device_id)
        return PrintOutcome(
            job_id,
            ELSEWHERE,
            "",
            printed=False,
            ticket_path=path,
            other_device=other.name if other else "",
        )
    return PrintOutcome(job_id, job.status, job.last_error, printed=False, ticket_path=path)


def _claim_statement(*, own_device_only: bool) -> Any:
    """Take a job that is waiting, failed, or claimed by a process long dead; return it."""
    statement = (
        update(PrintJob)
        .where(
            col(PrintJob.id) == bindparam("job_id"),
            or_(
                # Not IN (...): an IN list is rewritten into the SQL text at every execution.
                col(PrintJob.status) == PrintJobStatus.PENDING,
                col(PrintJob.status) == PrintJobStatus.FAILED,
                and_(
                    col(PrintJob.status) == PrintJobStatus.PRINTING,
                    col(PrintJob.claimed_at) < bindparam("stale_before"),
                ),
            ),
        )
        .values(
            status=PrintJobStatus.PRINTING,
            claimed_by=bindparam("worker"),
            claimed_at=bindparam("now"),
            attempts=col(PrintJob.attempts) + 1,
        )
        .returning(
            col(PrintJob.id),
            col(PrintJob.ticket_id),
            col(PrintJob.device_id),
            col(PrintJob.attempts),
            col(PrintJob.reprint),
        )
    )
    if own_device_only:
        # A kiosk prints only its own jobs.
        statement = statement.where(col(PrintJob.device_id) == bindparam("printer_device_id"))
    return statement


_PRINTED_TICKET_COLUMNS: tuple[Any, ...] = (
    col(Ticket.client_id).label("client_id"),
    col(Ticket.booking_id).label("booking_id"),
)


def _claim_with_ticket(claim: Any) -> Any:
    """PostgreSQL: the claim and its ticket's words (ticket_info_select) in one statement.

    The claim runs as a data-modifying WITH clause; its row is joined to the ticket's,
    so one row serves as the job and as the ticket (the labels do not overlap).
    """
    claimed = claim.cte("claimed")
    return ticket_info_select(
        claimed.c.id,
        claimed.c.device_id,
        claimed.c.attempts,
        claimed.c.reprint,
        *_PRINTED_TICKET_COLUMNS,
    ).join(claimed, claimed.c.ticket_id == col(Ticket.id))


# Built once: a statement made per call costs more Python than the database's work.
_CLAIM = {own: _claim_statement(own_device_only=own) for own in (False, True)}
_PRINTED_TICKET = ticket_info_select(*_PRINTED_TICKET_COLUMNS).where(
    col(Ticket.id) == bindparam("ticket_id")
)
_CLAIM_WITH_TICKET = {own: _claim_with_ticket(_CLAIM[own]) for own in (False, True)}


_JOBS = PrintJob.__table__  # type: ignore[attr-defined]


def _on_this_job(value: Any, column: Any) -> Any:
    """SET column = value on the printed job, its own value on the printer's other jobs."""
    return case((col(PrintJob.id) == bindparam("job_id"), value), else_=column)


# The job printed, and only the newest job of a printer keeps its bytes (the preview of
# the last ticket): one UPDATE of the printed job and the printer's older job that had them.
_JOB_PRINTED = (
    update(PrintJob)
    .where(
        col(PrintJob.device_id) == bindparam("printer_device_id"),
        or_(col(PrintJob.id) == bindparam("job_id"), col(PrintJob.sent_data).is_not(None)),
    )
    .values(
        status=_on_this_job(
            bindparam("job_status", type_=_JOBS.c.status.type),
            col(PrintJob.status),
        ),
        printed_at=_on_this_job(
            bindparam("printed_at", type_=_JOBS.c.printed_at.type),
            col(PrintJob.printed_at),
        ),
        last_error=_on_this_job(literal(""), col(PrintJob.last_error)),
        sent_data=_on_this_job(bindparam("data", type_=LargeBinary()), null()),
    )
)

# SET takes the columns the parameters name (the roll's answer, an error cleared).
_DEVICE_ANSWERED = update(Device).where(col(Device.id) == bindparam("answered_device_id"))
# What _device_answered may write: the error cleared, the roll's answer, or both.
_ANSWERS = (
    frozenset({"printer_error", "printer_error_at"}),
    frozenset({"printer_paper", "printer_paper_at"}),
    frozenset({"printer_error", "printer_error_at", "printer_paper", "printer_paper_at"}),
)


def _job_printed_answered(names: frozenset[str]) -> Any:
    """PostgreSQL: the printed job and the printer's answer on its device in one statement.

    The device's UPDATE is a data-modifying WITH clause of the job's (it runs once,
    unreferenced); its parameters are named answered_<column>.
    """
    answered = (
        update(Device)
        .where(col(Device.id) == bindparam("answered_device_id"))
        .values({name: bindparam(f"answered_{name}") for name in sorted(names)})
        .cte("answered")
    )
    return _JOB_PRINTED.add_cte(answered)


_JOB_PRINTED_ANSWERED = {names: _job_printed_answered(names) for names in _ANSWERS}


def _claim(
    session: Session, job_id: int, worker: str, now: datetime, device_id: int | None
) -> tuple[Row[Any], Row[Any], Device] | None:
    """Take the job with one UPDATE; only one caller can win it.

    Return the job, its ticket's row (ticket_info_select) and the printer's device.
    """
    claim = {
        "job_id": job_id,
        "stale_before": now - STALE_CLAIM,
        "worker": worker,
        "now": now,
        "printer_device_id": device_id,
    }
    with write_transaction(session):
        connection = session.connection()
        own = device_id is not None
        ticket: Row[Any] | None = None
        if connection.dialect.name == "postgresql":
            job = ticket = connection.execute(_CLAIM_WITH_TICKET[own], claim).first()
        else:
            job = connection.execute(_CLAIM[own], claim).first()
            if job is not None:
                ticket = connection.execute(_PRINTED_TICKET, {"ticket_id": job.ticket_id}).one()
        if job is None or ticket is None:
            return None
        device = session.get(Device, job.device_id)
        assert device is not None
    orm_synced(
        session,
        PrintJob,
        job_id,
        status=PrintJobStatus.PRINTING,
        claimed_by=worker,
        claimed_at=now,
        attempts=job.attempts,
    )
    return job, ticket, device


def _mark_failed(
    session: Session, job_id: int, device_id: int, message: str, now: datetime
) -> None:
    with write_transaction(session):
        job = session.get(PrintJob, job_id)
        device = session.get(Device, device_id)
        assert job is not None and device is not None
        job.status = PrintJobStatus.FAILED
        job.last_error = message[:500]
        session.add(job)
        was_failing = bool(device.printer_error)
        device.printer_error = message[:300]
        device.printer_error_at = now
        session.add(device)
        if not was_failing:
            push_emit(session, "printer.alert", ["admin"], device_id=device_id, job_id=job_id)


def _mark_done(
    session: Session,
    job: Row[Any],
    ticket: Row[Any],
    device: Device,
    status: PrintJobStatus,
    printed: PrintedTicket,
    now: datetime,
) -> None:
    """Record a printed job, the printer's answer and the history entry, in one transaction."""
    assert device.id is not None
    written = {"status": status, "printed_at": now, "last_error": "", "sent_data": printed.data}
    device_values = _device_answered(session, device, printed.status.paper, now)
    with write_transaction(session):
        _job_printed(session, job.id, device.id, status, printed.data, now, device_values)
        history_insert(
            session,
            client_id=ticket.client_id,
            kind=HistoryKind.TICKET_PRINTED,
            actor=device.name,
            booking_id=ticket.booking_id,
            ticket_id=ticket.ticket_id,
            summary=_printed_summary(ticket.number, status, job.reprint, job.attempts),
            at=now,
        )
    orm_synced(session, PrintJob, job.id, **written)
    orm_synced(session, Device, device.id, **device_values)


def _job_printed(
    session: Session,
    job_id: int,
    device_id: int,
    status: PrintJobStatus,
    data: bytes,
    now: datetime,
    device_values: dict[str, Any],
) -> None:
    """Write the printed job and what the printer's answer changes on its device."""
    connection = session.connection()
    printed = {
        "job_id": job_id,
        "printer_device_id": device_id,
        "job_status": status,
        "printed_at": now,
        "data": data,
    }
    if device_values and connection.dialect.name == "postgresql":
        answered = {f"answered_{name}": value for name, value in device_values.items()}
        statement = _JOB_PRINTED_ANSWERED[frozenset(device_values)]
        connection.execute(statement, {**printed, "answered_device_id": device_id, **answered})
        return
    connection.execute(_JOB_PRINTED, printed)
    if device_values:
        connection.execute(_DEVICE_ANSWERED, {"answered_device_id": device_id, **device_values})


def _printed_summary(number: str, status: PrintJobStatus, reprint: bool, attempts: int) -> str:
    """The history's line for a ticket printed, or sent to a printer that cannot say."""
    return (
        f"Талон {number} "
        + ("напечатан" if status == PrintJobStatus.DONE else "отправлен на принтер")
        + (" повторно." if reprint else ".")
        + ("" if status == PrintJobStatus.DONE else " Принтер не сообщает, вышел ли талон.")
        + ("" if attempts <= 1 else f" Попытка {attempts}.")
    )


def _device_answered(
    session: Session, device: Device, paper: PaperState, now: datetime
) -> dict[str, Any]:
    """What a printer that printed changes on its device: its error cleared, its roll's state.

    Push events go into the caller's transaction; the values are for it to write.
    """
    values: dict[str, Any] = {}
    if device.printer_error:
        values.update(printer_error="", printer_error_at=None)
        push_emit(session, "printer.alert", ["admin"], device_id=device.id, resolved=True)
    if paper != "unknown":
        values.update(printer_paper=paper, printer_paper_at=now)
        if _paper_news(device, paper):
            push_emit(session, "printer.alert", ["admin"], device_id=device.id, paper=paper)
    return values


def _paper_news(device: Device, paper: PaperState) -> bool:
    """Whether the administrator's screens hear of the roll's answer (a warning is logged).

    They refresh when the roll runs low and when it is changed.
    """
    before = device.printer_paper
    if paper == "near_end" and before != paper:
        log.warning("printer of %r: paper near its end", device.name)
    return before != paper and (paper != "ok" or before in {"near_end", "out"})


def _record_paper(session: Session, device_id: int, paper: PaperState, now: datetime) -> None:
    """Keep the roll sensor's answer; the administrator is told when the roll nears its end."""
    if paper == "unknown":
        return
    with write_transaction(session):
        device = session.get(Device, device_id)
        assert device is not None
        news = _paper_news(device, paper)
        device.printer_paper = paper
        device.printer_paper_at = now
        session.add(device)
        if news:
            push_emit(session, "printer.alert", ["admin"], device_id=device_id, paper=paper)


def print_jobs_reclaim(*, session: Session, now: datetime | None = None) -> int:
    """Take back jobs a crashed process left `printing`; they fail with a reason and are retried.

    Whether such a ticket came out is unknown: it is printed again (a second ticket
    is better than none) and the administrator sees why. Returns how many.
    """
    now = now or utcnow()
    with write_transaction(session):
        stale = session.execute(
            update(PrintJob)
            .where(
                col(PrintJob.status) == PrintJobStatus.PRINTING,
                col(PrintJob.claimed_at) < now - STALE_CLAIM,
            )
            .values(status=PrintJobStatus.FAILED, last_error=STALE_MESSAGE)
            .returning(col(PrintJob.id), col(PrintJob.device_id))
        ).all()
    for job_id, device_id in stale:
        log.warning("print job %s: claim went stale, taken back for a retry", job_id)
        _mark_failed(session, job_id, device_id, STALE_MESSAGE, now)
    return len(stale)


def print_jobs_retry(
    *,
    session: Session,
    calendar: WorkCalendar,
    transport_for: TransportFor = device_transport,
    worker: str | None = None,
    now: datetime | None = None,
) -> int:
    """Print today's pending and failed jobs on printers that answer again; return how many.

    Importable with plain arguments, for the scheduler. Stale claims are taken back
    first. A printer that still says it is offline is skipped; the first failure
    stops that printer's turn.
    """
    now = now or utcnow()
    print_jobs_reclaim(session=session, now=now)
    today = calendar.to_local(now).date()
    rows = session.exec(
        select(PrintJob.id, PrintJob.device_id)
        .join(Ticket, col(Ticket.id) == col(PrintJob.ticket_id))
        .where(
            Ticket.office_day == today,
            col(PrintJob.status).in_([PrintJobStatus.PENDING, PrintJobStatus.FAILED]),
            col(PrintJob.created_at) <= now - RETRY_MIN_AGE,
        )
        .order_by(col(PrintJob.id))
    ).all()
    by_device: dict[int, list[int]] = {}
    for job_id, device_id in rows:
        if job_id is not None:
            by_device.setdefault(device_id, []).append(job_id)
    printed = 0
    for device_id, job_ids in by_device.items():
        device = session.get(Device, device_id)
        if device is None or not device.active:
            continue
        transport = transport_for(device)
        if transport.status().online is False:
            log.info("print retry: printer of %r still offline", device.name)
            continue
        for job_id in job_ids:
            outcome = print_job_run(
                session=session,
                calendar=calendar,
                job_id=job_id,
                worker=worker,
                transport_for=_always(transport),
                now=now,
            )
            printed += outcome.printed
            if outcome.status == PrintJobStatus.FAILED:
                break
    if printed:
        log.info("print retry: %d ticket(s) printed", printed)
    return printed


def _always(transport: Transport) -> TransportFor:
    def choose(_device: Device) -> Transport:
        return transport

    return choose


def ticket_reprint(
    *,
    session: Session,
    calendar: WorkCalendar,
    ticket_id: int,
    staff: Staff,
    device_id: int | None = None,
    transport_for: TransportFor = device_transport,
    now: datetime | None = None,
) -> PrintOutcome:
    """Print one of today's tickets again on a kiosk printer, at the administrator's request."""
    with write_transaction(session):
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound("Талон не найден.")
        if ticket.office_day != calendar.to_local(now or utcnow()).date():
            raise InvalidInput("Повторно напечатать можно только сегодняшний талон.")
        device = session.get(Device, device_id or ticket.kiosk_device_id or 0)
        if device is None:
            device = session.exec(
                select(Device).where(
                    Device.kind == DeviceKind.KIOSK.value, col(Device.active).is_(True)
                )
            ).first()
        if device is None or device.kind != DeviceKind.KIOSK.value or device.id is None:
            raise InvalidInput(
                "Нет терминала с принтером: добавьте терминал в разделе «Устройства»."
            )
        assert ticket.id is not None
        job = PrintJob(ticket_id=ticket.id, device_id=device.id, reprint=True)
        session.add(job)
        session.flush()
        audit_record(
            session,
            staff=staff,
            action="ticket_reprint",
            client_id=ticket.client_id,
            ticket_id=ticket.id,
            details=f"Талон {ticket.number}, {device.name}",
        )
        job_id = job.id
    assert job_id is not None
    return print_job_run(
        session=session, calendar=calendar, job_id=job_id, transport_for=transport_for, now=now
    )


def device_printer_check(
    *, session: Session, device_id: int, transport_for: TransportFor = device_transport
) -> PrinterStatus:
    """Ask a kiosk's printer how it is (at most the transport timeout) and record the answer."""
    device = session.get(Device, device_id)
    if device is None or device.kind != DeviceKind.KIOSK.value:
        raise NotFound("Терминал не найден.")
    status = transport_for(device).status()
    with write_transaction(session):
        device = session.get(Device, device_id)
        assert device is not None
        if status.online is False or status.paper == "out":
            device.printer_error = (status.error or "Принтер недоступен")[:300]
            device.printer_error_at = utcnow()
        elif status.online:
            device.printer_error = ""
            device.printer_error_at = None
        session.add(device)
    _record_paper(session, device_id, status.paper, utcnow())
    return status


def device_last_print_png(*, session: Session, device_id: int) -> bytes | None:
    """The last ticket sent to a kiosk's printer as a PNG, drawn from the bytes it got."""
    device = session.get(Device, device_id)
    last = device_last_print(session=session, device_id=device_id)
    if device is None or last is None:
        return None
    return render_bytes_png(last[0], device_printer_settings(device))


def device_last_print(*, session: Session, device_id: int) -> tuple[bytes, datetime] | None:
    """The bytes last sent to a kiosk's printer and when, for its preview."""
    row = session.exec(
        select(PrintJob.sent_data, PrintJob.printed_at)
        .where(PrintJob.device_id == device_id, col(PrintJob.sent_data).is_not(None))
        .order_by(col(PrintJob.id).desc())
        .limit(1)
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return row[0], row[1]
