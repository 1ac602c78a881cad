"""What a specialist's call, start and finish cost the database: statements counted, never timed.

"Call next" is the specialist's busiest path (issue 20: 21 statements a call before the
first pass), and a start and a finish follow each call (they read the whole day again, 6
statements more each, before this). A change that reads the day list again, loads a row
object by object or splits the write transaction fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlmodel import Session

from tests.conftest import Database, htmx_headers, login_as
from tests.factories import make_booking, make_ticket
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig

_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)

# Data statements of a call, a start and a finish, by database:
# every request: the staff session with its staff member (visits/web/auth.py);
# call: the next waiting ticket with its room, client, booking, service, open reservation,
#   her current ticket's number (none) and the count of those who wait, the ticket's
#   update, the history and audit entries, the push event; the answer reads nothing more;
# start: the ticket with its room, client, booking, service, open reservation and the
#   count of those who wait, its update, history, audit, push event; the answer reads
#   nothing more;
# finish: the ticket with its booking, client and service, the ticket's and the booking's
#   updates, history, audit, the rating prompt (read and added), the open reservations,
#   the final message and its history entry, the push events (the displays', the
#   tablet's); the answer: the finished row and those who wait, in one read.
# PostgreSQL: a call locks the specialist's row first; a commit's push events are one
# statement (with their advisory lock and NOTIFY).
STATEMENTS = {
    "sqlite": {"call": 6, "start": 6, "finish": 14},
    "postgres": {"call": 7, "start": 6, "finish": 13},
}
# The session's read, the action's write transaction (on PostgreSQL the same one: the
# write goes on in the transaction the request's reads began), the answer's read (none
# after a call or a start).
TRANSACTIONS = {
    "sqlite": {"call": 2, "start": 2, "finish": 3},
    "postgres": {"call": 1, "start": 1, "finish": 2},
}


@pytest.fixture
def open_calendar(office_config: OfficeConfig) -> WorkCalendar:
    """Books today at any hour, whatever the day of the week."""
    return WorkCalendar(office_config, always_open=True)


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    """Every statement the tests' database is sent, in order."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    yield seen
    event.remove(database.engine, "before_cursor_execute", record)


def _post(client: FlaskClient, statements: list[str], url: str) -> tuple[str, list[str], int]:
    """Post as the panel does; the answer, the data statements sent and the transactions."""
    since = len(statements)
    response = client.post(url, headers=htmx_headers(client))
    assert response.status_code == 200, response.get_data(as_text=True)
    sent = statements[since:]
    data = [s.split("\n")[0][:120] for s in sent if not _CONTROL.match(s)]
    transactions = sum(1 for s in sent if re.match(r"^\s*(SAVEPOINT|BEGIN)\b", s, re.IGNORECASE))
    return response.get_data(as_text=True), data, transactions


def test_a_call_a_start_and_a_finish_stay_within_their_statements(
    client: FlaskClient,
    session: Session,
    open_calendar: WorkCalendar,
    database: Database,
    statements: list[str],
) -> None:
    tickets = [
        make_ticket(
            session,
            make_booking(
                session, open_calendar, starts_at=open_calendar.at(open_calendar.today(), time(hh))
            ),
        )
        for hh in (9, 10, 11)
    ]
    login_as(client, "ivanova")
    client.get("/staff/today", headers=htmx_headers(client))
    expected = STATEMENTS[database.backend]
    ticket_id = tickets[0].id
    for action, url in (
        ("call", "/staff/today/call-next"),
        ("start", f"/staff/today/tickets/{ticket_id}/start"),
        ("finish", f"/staff/today/tickets/{ticket_id}/finish"),
    ):
        body, data, transactions = _post(client, statements, url)
        assert body.lstrip().startswith('<section id="today-current"'), body
        assert len(data) <= expected[action], f"{action}:\n" + "\n".join(data)
        assert transactions <= TRANSACTIONS[database.backend][action], action
