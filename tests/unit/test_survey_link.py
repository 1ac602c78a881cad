"""§17: every final written message carries the satisfaction survey link.

The visit's own final message links the ticket's rating page (tests/unit/test_queue.py);
a cancellation and the history sent on the client's request have no visit to rate and
link the department's survey from the office file.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from tests.factories import make_booking, make_client, next_working_moment, staff_by_login
from visits.calendar import WorkCalendar
from visits.models import MessageKind, OutgoingMessage
from visits.services.booking import booking_cancel
from visits.services.history_export import history_send


def _bodies(session: Session, client_id: int, kind: MessageKind) -> list[str]:
    return [
        m.body
        for m in session.exec(
            select(OutgoingMessage).where(
                OutgoingMessage.client_id == client_id, OutgoingMessage.kind == kind.value
            )
        ).all()
    ]


def test_the_demo_office_names_its_survey(calendar: WorkCalendar) -> None:
    assert calendar.config.office.survey_url.startswith("https://")


def test_cancellation_carries_the_survey_link(session: Session, calendar: WorkCalendar) -> None:
    client = make_client(session, channel="email", second_channel="sms")
    starts_at = next_working_moment(calendar, days_ahead=2)
    booking = make_booking(
        session, calendar, client=client, starts_at=starts_at, now=starts_at - timedelta(days=3)
    )
    booking_cancel(
        session=session,
        calendar=calendar,
        booking_id=booking.id or 0,
        staff=staff_by_login(session, "operator"),
    )
    bodies = _bodies(session, client.id or 0, MessageKind.CANCELLATION)
    assert len(bodies) == 2  # both channels
    url = calendar.config.office.survey_url
    assert all(f"Оцените, пожалуйста, как мы с вами работали: {url}" in b for b in bodies)


def test_history_sent_on_request_carries_the_survey_link(
    session: Session, calendar: WorkCalendar
) -> None:
    client = make_client(session, channel="email")
    make_booking(session, calendar, client=client)
    history_send(
        session=session,
        calendar=calendar,
        staff=staff_by_login(session, "operator"),
        client_id=client.id or 0,
    )
    (body,) = _bodies(session, client.id or 0, MessageKind.HISTORY_EXPORT)
    assert body.endswith(f"как мы с вами работали: {calendar.config.office.survey_url}")


def test_the_cancellation_says_who_cancelled(session: Session, calendar: WorkCalendar) -> None:
    # §5-6: an actor in the subject too, not «Запись отменена».
    client = make_client(session, channel="email")
    starts_at = next_working_moment(calendar, days_ahead=2)
    booking = make_booking(
        session, calendar, client=client, starts_at=starts_at, now=starts_at - timedelta(days=3)
    )
    booking_cancel(
        session=session,
        calendar=calendar,
        booking_id=booking.id or 0,
        staff=staff_by_login(session, "operator"),
    )
    (row,) = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.client_id == client.id,
            OutgoingMessage.kind == MessageKind.CANCELLATION.value,
        )
    ).all()
    assert row.subject.startswith("Мы отменили вашу запись на ")
