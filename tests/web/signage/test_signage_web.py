"""Hallway display pages (issue 5): board, fragments, stream, audio, and what they never show."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import csrf_of, htmx_headers
from tests.factories import (
    make_booking,
    make_call_event,
    make_client,
    make_device,
    make_ticket,
    next_working_moment,
)
from visits.calendar import WorkCalendar
from visits.db import write_transaction
from visits.models import Booking, Client, DeviceKind, Ticket, TicketStatus
from visits.services.tts import speech_available

_slots = itertools.count()


def _visit(
    session: Session, calendar: WorkCalendar, staff_login: str = "ivanova", **client: str
) -> tuple[Client, Booking, Ticket]:
    service = {"ivanova": "land-lease", "lebedev": "property-lease", "popov": "land-free"}[
        staff_login
    ]
    n = next(_slots)
    person = make_client(session, **client)
    booking = make_booking(
        session,
        calendar,
        client=person,
        staff_login=staff_login,
        service_code=service,
        starts_at=next_working_moment(calendar, days_ahead=1 + n // 4, hour=9 + n % 4, minute=0),
    )
    return person, booking, make_ticket(session, booking)


def _text(html: str) -> str:
    """What a visitor reads: the markup without its tags."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def _as_display(client: FlaskClient, session: Session, spot_key: str = "f3-lift") -> None:
    _device, token = make_device(session, DeviceKind.DISPLAY, spot_key=spot_key)
    client.set_cookie("priyom_device", token)


def _stream_text(client: FlaskClient, query: str, *, chunks: int, **headers: str) -> str:
    response = client.get(f"/signage/stream{query}", headers=headers, buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    body: Iterator[bytes] = iter(response.response)
    text = "".join(next(body).decode() for _ in range(chunks))
    response.close()
    return text


@pytest.fixture
def quick_stream(app: Flask) -> None:
    """PRIYOM_SSE_HEARTBEAT=0.2 for this app (the environment is read once, at start)."""
    ctx = app.extensions["priyom"]
    ctx.settings = ctx.settings.model_copy(update={"sse_heartbeat": 0.2})


def test_unpaired_browser_is_sent_to_pairing(client: FlaskClient) -> None:
    response = client.get("/signage/")
    assert response.status_code == 302 and "/device/pair" in response.headers["Location"]
    assert client.get("/signage/", headers={"HX-Request": "true"}).status_code == 401
    response = client.get("/signage/stream", headers={"Accept": "text/event-stream"})
    assert response.status_code == 401


def test_kiosk_token_does_not_open_the_display(client: FlaskClient, session: Session) -> None:
    _device, token = make_device(session, DeviceKind.KIOSK)
    client.set_cookie("priyom_device", token)
    assert client.get("/signage/", headers={"HX-Request": "true"}).status_code == 401


def test_board_page_shows_the_call_with_the_spot_route(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    _as_display(client, session, "f3-lift")
    page = client.get("/signage/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "3 этаж, у лифта" in html and "Кабинеты по номерам" in html
    assert 'class="sg sg--idle"' in html
    assert 'id="signage-offline"' in html and "нет связи" in html

    _person, _booking, ticket = _visit(session, calendar)
    event = make_call_event(session, ticket)
    fragment = client.get("/signage/", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert "Vary" in fragment.headers and html.lstrip().startswith('<div id="signage-live"')
    assert "Кабинеты по номерам" not in html
    line = re.search(r'<li class="sg-call[^"]*"(.*?)</li>', html, re.S)
    assert line is not None
    assert f'data-event-id="{event.id}"' in line.group(0)
    assert f">{ticket.number}<" in line.group(0)
    assert "кабинет 305" in _text(line.group(0)) and "3 этаж" in line.group(0)
    assert 'data-arrow="right"' in line.group(0) and "→" in line.group(0)
    assert "направо, третья дверь слева" in line.group(0)
    assert 'data-phrase="Талон А ноль' in line.group(0)
    assert 'data-calls="1"' in html


def test_other_floor_display_shows_the_stairs(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    _as_display(client, session, "f1-lobby")
    _person, _booking, ticket = _visit(session, calendar)
    make_call_event(session, ticket)
    html = client.get("/signage/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-arrow="up"' in html and "лестница на 3 этаж" in html
    assert "3 этаж, у лифта: направо, третья дверь слева" in html


def test_move_to_meeting_room_and_recall_are_marked(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    _as_display(client, session)
    _person, _booking, moved = _visit(session, calendar)
    _person, _booking, recalled = _visit(session, calendar, "lebedev")
    make_call_event(session, moved)
    make_call_event(session, recalled)
    make_call_event(session, moved, kind="ticket.moved", room_number="311")
    make_call_event(session, recalled, kind="ticket.recalled")
    html = client.get("/signage/", headers={"HX-Request": "true"}).get_data(as_text=True)
    lines = re.findall(r'<li class="sg-call.*?</li>', html, re.S)
    assert len(lines) == 2
    assert recalled.number in lines[0] and "повторный вызов" in lines[0]
    assert moved.number in lines[1] and "переговорная 311" in _text(lines[1])
    assert "новое направление" in lines[1] and 'data-arrow="left"' in lines[1]


def test_stream_sends_display_events_with_ids_and_resumes_after(
    client: FlaskClient, session: Session, calendar: WorkCalendar, quick_stream: None
) -> None:
    _as_display(client, session)
    _person, _booking, first = _visit(session, calendar)
    _person, _booking, second = _visit(session, calendar, "lebedev")
    one = make_call_event(session, first)
    two = make_call_event(session, second)
    text = _stream_text(client, f"?after={one.id - 1}", chunks=3)
    assert f"id: {one.id}\nevent: ticket.called\n" in text
    assert f"id: {two.id}\nevent: ticket.called\n" in text
    assert f'"ticket_id": {second.id}' in text
    # A reconnecting browser sends Last-Event-ID: only what it missed comes back.
    text = _stream_text(client, "", chunks=2, **{"Last-Event-ID": str(one.id)})
    assert f"id: {one.id}\n" not in text and f"id: {two.id}\n" in text


@pytest.mark.skipif(
    not speech_available(),
    reason="espeak-ng is not installed (Debian: apt-get install espeak-ng; `make browser` does it)",
)
def test_speech_audio_for_a_call_event(
    client: FlaskClient, session: Session, calendar: WorkCalendar, app: Flask
) -> None:
    _as_display(client, session)
    _person, _booking, ticket = _visit(session, calendar)
    event = make_call_event(session, ticket)
    response = client.get(f"/signage/speech/{event.id}.wav")
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert response.data[:4] == b"RIFF" and len(response.data) > 10_000
    assert client.get(f"/signage/speech/{event.id + 1000}.wav").status_code == 404


def test_chime_and_no_audio_without_a_display(client: FlaskClient, session: Session) -> None:
    assert client.get("/signage/chime.wav", headers={"HX-Request": "true"}).status_code == 401
    assert client.get("/signage/speech/1.wav", headers={"HX-Request": "true"}).status_code == 401
    _as_display(client, session)
    response = client.get("/signage/chime.wav")
    assert response.status_code == 200 and response.data[:4] == b"RIFF"


def test_no_personal_data_in_any_signage_response(
    client: FlaskClient, session: Session, calendar: WorkCalendar, quick_stream: None
) -> None:
    """Public screen: names, phones, e-mails, codes and the visit's service never appear."""
    _as_display(client, session)
    people = [
        _visit(
            session,
            calendar,
            login,
            surname=surname,
            first_name=first,
            patronymic=patronymic,
            phone=phone,
            email=email,
        )
        for login, surname, first, patronymic, phone, email in [
            ("ivanova", "Курочкина", "Зинаида", "Аркадьевна", "+79130007711", "zina@example.ru"),
            ("lebedev", "Ястребов", "Ростислав", "Всеволодович", "+79130008822", "rost@example.ru"),
            ("popov", "Щукина", "Евлампия", "Тихоновна", "+79130009933", "evla@example.ru"),
        ]
    ]
    first_event = None
    for _person, _booking, ticket in people:
        event = make_call_event(session, ticket)
        first_event = first_event or event
    make_call_event(session, people[0][2], kind="ticket.moved", room_number="311")
    assert first_event is not None

    page = client.get("/signage/").get_data(as_text=True)
    fragment = client.get("/signage/", headers={"HX-Request": "true"}).get_data(as_text=True)
    stream = _stream_text(client, f"?after={first_event.id - 1}", chunks=5)
    assert all(t.number in fragment for _p, _b, t in people)
    assert stream.count("\nevent: ") == 4
    for person, booking, _ticket in people:
        secrets = [
            person.surname,
            person.first_name,
            person.patronymic,
            person.phone,
            person.phone[2:],
            person.phone[-7:],
            f"{person.phone[-4:-2]}-{person.phone[-2:]}",
            person.email or "",
            booking.code,
        ]
        for text in (page, fragment, stream):
            for secret in secrets:
                assert secret and secret not in text, secret
    # The calls say where to go, not what the visit is about.
    calls = fragment.split('<footer class="sg-bottom">')[0]
    for name in ("Аренда", "Выкуп", "многодетным", "имущества"):
        assert name not in calls


def test_display_token_adds_no_rights_outside_signage(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    """A display token cannot call tickets or read client data: it opens nothing an
    anonymous browser cannot, on any staff, kiosk, tablet or API route."""
    anonymous = app.test_client()
    _as_display(client, session)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("signage.", "static", "home.", "auth.", "ops.")):
            continue
        # 1 fits every converter used here (int, string, path).
        values = dict.fromkeys(rule.arguments, 1)
        path = rule.build(values, append_unknown=False)
        assert path is not None
        url = path[1]
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            results = []
            for browser in (anonymous, client):
                response = browser.open(
                    url,
                    method=method,
                    headers=htmx_headers(browser) if method == "POST" else {},
                    data={"csrf_token": csrf_of(browser)} if method == "POST" else None,
                )
                results.append((response.status_code, response.headers.get("HX-Redirect")))
            assert results[1] == results[0] or results[1][0] >= 400, (method, url, results)
            assert results[1][0] != 200 or results[0][0] == 200, (method, url, results)
            checked += 1
    assert checked >= 10, checked


def test_stream_carries_the_line_the_display_draws_from_its_spot(
    client: FlaskClient, session: Session, calendar: WorkCalendar, quick_stream: None
) -> None:
    """A call's event has the line for this display's spot: the display need not fetch."""
    _as_display(client, session, spot_key="f3-lift")
    _person, _booking, upstairs = _visit(session, calendar, "lebedev")
    _person, _booking, ended = _visit(session, calendar, "ivanova")
    gone = make_call_event(session, ended)
    with write_transaction(session):
        ended.status = TicketStatus.DONE
        session.add(ended)
    call = make_call_event(session, upstairs)
    text = _stream_text(client, f"?after={gone.id - 1}", chunks=3)
    events = {
        int(m.group(1)): json.loads(m.group(2))
        for m in re.finditer(r"id: (\d+)\nevent: [\w.]+\ndata: (.*)\n", text)
    }
    line = events[call.id]["line"]
    assert (line["ticket"], line["room_word"], line["room"], line["floor"]) == (
        upstairs.number,
        "кабинет",
        "402",
        4,
    )
    assert (line["glyph"], line["route"]) == ("↑", "лестница на 4 этаж")
    assert line["announce"] is True and "четыреста два" in line["phrase"]
    # A replayed call whose visit has ended: the display takes the line off.
    assert events[gone.id]["line"] is None and events[gone.id]["ticket_id"] == ended.id
    # Another spot gets its own way to the same room.
    _as_display(client, session, spot_key="f2-stairs")
    text = _stream_text(client, f"?after={call.id - 1}", chunks=2)
    assert '"route": "лестница на 4 этаж"' in text
    assert '"then": "4 этаж, у лифта: налево, вторая дверь справа"' in text
