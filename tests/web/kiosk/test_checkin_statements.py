"""What a kiosk check-in and its print cost the database: statements counted, never timed.

The check-in is the kiosk's busiest path (issue 20; before: 14 statements in 4
transactions for the check-in, 8 in 5 for the print). A change that reads the ticket twice
again, loads it through the ORM object by object or splits a transaction fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlmodel import Session

from tests.conftest import Database, htmx_headers
from tests.emulator.escpos_printer import EmulatedPrinter
from tests.factories import make_booking, make_device, next_working_moment
from visits.calendar import WorkCalendar
from visits.models import Booking, DeviceKind

# Statements of one check-in and of its print, after the kiosk's first request of the
# minute (that one also notes when the device was last seen and starts its look-up window):
# check-in: the device, the look-up count, the booking with its ticket and words, the
#   number, the ticket, the booking's status, the print job, the history, the push event;
# print: the device, the claim, the ticket's words, the job printed (the older job's bytes
#   dropped with it), the printer's answer, the history.
CHECKIN_STATEMENTS = 9
# PostgreSQL files the ticket, the booking's status and the print job in one statement.
POSTGRES_CHECKIN_STATEMENTS = 7
PRINT_STATEMENTS = 6
# PostgreSQL claims the job and reads its ticket's words in one statement, and writes the
# printed job with the printer's answer in another.
POSTGRES_PRINT_STATEMENTS = 4
# PostgreSQL: the push event's advisory lock and its NOTIFY.
POSTGRES_PUSH_STATEMENTS = 2
# Transactions of each request (each is a SAVEPOINT in the tests' shared connection):
# check-in: the device's read, the check-in with the look-up count; print: the device's
# read, the claim with the ticket's read, the printed job with the printer's answer.
CHECKIN_TRANSACTIONS = 2
PRINT_TRANSACTIONS = 3
_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    """Every statement the tests' database is sent, in order."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    yield seen
    event.remove(database.engine, "before_cursor_execute", record)


def _post(client: FlaskClient, url: str, **data: str) -> str:
    response = client.post(url, data=data, headers=htmx_headers(client))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def _check_in(client: FlaskClient, booking: Booking) -> str:
    """Check the booking in; return its print request's address."""
    match = re.search(
        r'hx-post="(/kiosk/print/\d+)"', _post(client, "/kiosk/checkin/code", code=booking.code)
    )
    assert match is not None
    return match.group(1)


def _counted(statements: list[str], since: int) -> tuple[list[str], int]:
    """The data statements sent since `since`, and how many transactions they took."""
    sent = statements[since:]
    data = [s.split("\n")[0][:120] for s in sent if not _CONTROL.match(s)]
    transactions = sum(1 for s in sent if re.match(r"^\s*(SAVEPOINT|BEGIN)\b", s, re.IGNORECASE))
    return data, transactions


def test_a_check_in_and_its_print_stay_within_their_statements(
    client: FlaskClient,
    session: Session,
    calendar: WorkCalendar,
    database: Database,
    statements: list[str],
) -> None:
    starts_at = next_working_moment(calendar)
    first = make_booking(session, calendar, staff_login="smirnov", starts_at=starts_at)
    booking = make_booking(session, calendar, starts_at=starts_at)
    extra = POSTGRES_PUSH_STATEMENTS if database.backend == "postgres" else 0
    with (
        EmulatedPrinter() as printer,
        time_machine.travel(starts_at - timedelta(minutes=20), tick=False),
    ):
        _device, token = make_device(session, DeviceKind.KIOSK, printer_uri=printer.uri)
        client.set_cookie("priyom_device", token)
        _post(client, _check_in(client, first))  # the kiosk's first request of the minute
        before_checkin = len(statements)
        print_url = _check_in(client, booking)
        checkin, checkin_transactions = _counted(statements, before_checkin)
        before_print = len(statements)
        html = _post(client, print_url)
        printed, print_transactions = _counted(statements, before_print)
    assert 'data-print="done"' in html and len(printer.printed) == 2
    expected = POSTGRES_CHECKIN_STATEMENTS if database.backend == "postgres" else CHECKIN_STATEMENTS
    assert len(checkin) <= expected + extra, "\n".join(checkin)
    expected = POSTGRES_PRINT_STATEMENTS if database.backend == "postgres" else PRINT_STATEMENTS
    assert len(printed) <= expected, "\n".join(printed)
    assert checkin_transactions <= CHECKIN_TRANSACTIONS
    assert print_transactions <= PRINT_TRANSACTIONS
