"""The rating tablet and the phone form through the Flask client (§36, §17)."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import csrf_of, htmx_headers
from tests.factories import make_device, make_finished_ticket
from visits.calendar import WorkCalendar
from visits.db import write_transaction
from visits.models import DeviceKind, PromptStatus, Rating, RatingPrompt, Ticket, TicketStatus
from visits.services.rating import rating_prompt_open


def _tablet(client: FlaskClient, session: Session, room: str = "305") -> None:
    _device, token = make_device(session, DeviceKind.TABLET, room_number=room)
    client.set_cookie("priyom_device", token)


def _finish(session: Session, calendar: WorkCalendar, **kw: object) -> tuple[Ticket, RatingPrompt]:
    ticket = make_finished_ticket(session, calendar, **kw)  # type: ignore[arg-type]
    with write_transaction(session):
        prompt = rating_prompt_open(session, ticket=ticket)
    return ticket, prompt


def _rate(client: FlaskClient, prompt_id: int, score: int, **form: object) -> tuple[int, str]:
    response = client.post(
        f"/kiosk/tablet/prompts/{prompt_id}/rating",
        data={"score": str(score), **form},
        headers=htmx_headers(client),
    )
    return response.status_code, response.get_data(as_text=True)


def test_idle_tablet_then_prompt_with_number_and_no_name(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    _tablet(client, session)
    page = client.get("/kiosk/tablet").get_data(as_text=True)
    assert "tablet-idle" in page and "sse:rating.prompt" in page
    ticket, prompt = _finish(session, calendar)
    fragment = client.get("/kiosk/tablet/current", headers=htmx_headers(client))
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and 'id="tablet-screen"' in html
    assert "Оцените, пожалуйста, ваш визит" in html and ticket.number in html
    assert "Петрович" not in html and "Петров" not in html  # no name on a public screen
    details = client.get(
        f"/kiosk/tablet/prompts/{prompt.id}?score=2", headers=htmx_headers(client)
    ).get_data(as_text=True)
    for reason in ("долгое ожидание", "не решили вопрос", "непонятно объяснили", "невежливо"):
        assert reason in details
    assert "быстро" not in details and 'data-key="й"' in details


def test_rate_on_tablet_then_second_attempt_says_already_rated(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    _tablet(client, session)
    ticket, prompt = _finish(session, calendar)
    status, html = _rate(client, prompt.id or 0, 2, reasons="невежливо", comment="Грубо")
    assert status == 200 and "Спасибо!" in html
    status, html = _rate(client, prompt.id or 0, 5)
    assert status == 409 and "Этот визит уже оценён. Спасибо!" in html
    assert 'id="tablet-screen"' in html  # the tablet keeps working
    rating = session.exec(select(Rating).where(Rating.ticket_id == ticket.id)).one()
    assert (rating.score, rating.reasons, rating.comment) == (2, ["невежливо"], "Грубо")
    # The phone link then says the same.
    phone = client.get(f"/t/{ticket.token}/rating").get_data(as_text=True)
    assert "Этот визит уже оценён" in phone and "Оцените, пожалуйста" not in phone


def test_tablet_of_another_room_is_refused(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    _tablet(client, session, room="309")
    ticket, prompt = _finish(session, calendar)
    current = client.get("/kiosk/tablet/current", headers=htmx_headers(client))
    assert ticket.number not in current.get_data(as_text=True)
    status, html = _rate(client, prompt.id or 0, 5)
    assert status == 403 and "другом кабинете" in html and ticket.number not in html
    assert session.exec(select(Rating)).first() is None


def test_expired_prompt_is_refused_and_recorded_skipped(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    _tablet(client, session)
    _ticket, prompt = _finish(session, calendar)
    with write_transaction(session):
        prompt.expires_at = prompt.created_at - timedelta(seconds=1)
        session.add(prompt)
    status, html = _rate(client, prompt.id or 0, 4)
    assert status == 409 and "Время для оценки на планшете истекло" in html
    idle = client.get("/kiosk/tablet/current", headers=htmx_headers(client)).get_data(as_text=True)
    assert "tablet-idle" in idle
    session.refresh(prompt)
    assert prompt.status == PromptStatus.SKIPPED


def test_idle_timeout_posts_skip(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    _tablet(client, session)
    _ticket, prompt = _finish(session, calendar)
    response = client.post(f"/kiosk/tablet/prompts/{prompt.id}/skip", headers=htmx_headers(client))
    assert "tablet-idle" in response.get_data(as_text=True)
    session.refresh(prompt)
    assert prompt.status == PromptStatus.SKIPPED


def test_tablet_needs_a_paired_tablet(client: FlaskClient) -> None:
    assert client.get("/kiosk/tablet").status_code == 302  # to pairing
    assert (
        client.post("/kiosk/tablet/prompts/1/rating", headers=htmx_headers(client)).status_code
        == 401
    )


def test_phone_form_rates_once_with_the_link_as_source(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    ticket = make_finished_ticket(session, calendar)
    page = client.get(f"/t/{ticket.token}/rating?via=link")
    assert page.status_code == 200 and "Оцените, пожалуйста, ваш визит" in page.get_data(
        as_text=True
    )
    details = client.get(
        f"/t/{ticket.token}/rating?score=5&via=link", headers=htmx_headers(client)
    ).get_data(as_text=True)
    assert 'id="rating"' in details and "вежливо" in details and "data-osk" not in details
    response = client.post(
        f"/t/{ticket.token}/rating",
        data={
            "score": "5",
            "reasons": ["быстро", "понятно"],
            "via": "link",
            "csrf_token": csrf_of(client),
        },
    )
    assert response.status_code == 200 and "Спасибо!" in response.get_data(as_text=True)
    rating = session.exec(select(Rating).where(Rating.ticket_id == ticket.id)).one()
    assert (rating.source, rating.reasons) == ("link", ["быстро", "понятно"])
    again = client.post(
        f"/t/{ticket.token}/rating", data={"score": "1", "csrf_token": csrf_of(client)}
    )
    assert again.status_code == 409 and "уже оценён" in again.get_data(as_text=True)


def test_phone_form_before_the_visit_ends_and_unknown_token(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    ticket = make_finished_ticket(session, calendar, status=TicketStatus.WAITING)
    html = client.get(f"/t/{ticket.token}/rating").get_data(as_text=True)
    assert "Оценить визит можно после окончания приёма." in html
    assert client.get("/t/no-such-token/rating").status_code == 404
