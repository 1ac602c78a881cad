"""/staff/line: the consultation line's call card, each action and each refusal (§18-27),
and the call-backs in «Звонки» (/staff/calls)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import csrf_of, htmx_headers, login_as
from tests.factories import make_client, staff_by_login
from visits.models import Call, CallBack, CallStatus, HistoryEntry, HistoryKind, OutgoingMessage


def _open(client: FlaskClient) -> int:
    response = client.post("/staff/line/calls", headers=htmx_headers(client))
    assert response.status_code == 204
    match = re.search(r"/staff/line/calls/(\d+)$", response.headers["HX-Redirect"])
    assert match
    return int(match.group(1))


def _post(http: FlaskClient, url: str, **data: str) -> tuple[int, str]:
    response = http.post(url, data=data, headers=htmx_headers(http))
    return response.status_code, response.get_data(as_text=True)


def test_line_page_shows_the_numbers_with_their_hours_and_the_new_call_key(
    client: FlaskClient,
) -> None:
    login_as(client, "operator")
    page = client.get("/staff/line").get_data(as_text=True)
    assert "Консультационная линия" in page
    assert "Телефоны 238-60-02, 238-60-62 · часы работы линии: пн–чт 09:00–18:00" in page
    assert 'id="call-new"' in page and "F2" in page
    # Every staff page loads the strip of handed-over calls, and carries the F2 key itself.
    assert "/staff/line/incoming" in page
    assert 'hx-trigger="priyom-f2 from:body"' in page  # priyom.js sends it on F2
    assert 'hx-trigger="priyom-f2 from:body"' in client.get("/staff/outbox").get_data(True)


def test_specialist_cannot_open_a_call(client: FlaskClient) -> None:
    login_as(client, "ivanova")
    assert client.post("/staff/line/calls", headers=htmx_headers(client)).status_code == 403
    assert "priyom-f2" not in client.get("/staff/today").get_data(as_text=True)


def test_without_csrf_nothing_is_opened(client: FlaskClient, session: Session) -> None:
    login_as(client, "operator")
    response = client.post("/staff/line/calls", headers={"HX-Request": "true"})
    assert response.status_code in (400, 403)
    assert session.exec(select(Call)).first() is None


def test_card_finds_the_caller_sets_the_topic_and_closes(
    client: FlaskClient, session: Session
) -> None:
    caller = make_client(session, surname="Сидоров", first_name="Пётр", patronymic="Ильич")
    login_as(client, "operator")
    call_id = _open(client)
    card = client.get(f"/staff/line/calls/{call_id}").get_data(as_text=True)
    assert "Звонок анонимный" in card and "Линия 238-60-02, 238-60-62" in card
    found = client.get(
        f"/staff/line/calls/{call_id}/search?q=Сидоров", headers=htmx_headers(client)
    ).get_data(as_text=True)
    assert found.lstrip().startswith('<div id="call-search-results"')
    assert "Сидоров Пётр Ильич" in found and ">Это он<" in found
    status, body = _post(client, f"/staff/line/calls/{call_id}/client", client=str(caller.id))
    assert (
        status == 200
        and body.lstrip().startswith('<section id="call-card"')
        and "Сидоров Пётр Ильич" in body
    )
    assert f"/staff/desk?client={caller.id}" in body  # booking goes through the desk
    # Closing without the topic is refused, and says why.
    status, body = _post(client, f"/staff/line/calls/{call_id}/close", outcome="answered")
    assert status == 422 and "Укажите тему звонка" in body
    status, body = _post(
        client, f"/staff/line/calls/{call_id}/details", topic="hours", service="", note="Часы"
    )
    assert status == 200 and "Сохранено." in body
    # The open call is on every page of the panel, to get back to it from the desk.
    strip = client.get("/staff/line/incoming", headers=htmx_headers(client)).get_data(True)
    assert "Идёт звонок с" in strip and f"/staff/line/calls/{call_id}" in strip
    closed = client.post(
        f"/staff/line/calls/{call_id}/close",
        data={"outcome": "answered"},
        headers=htmx_headers(client),
    )
    status, body = closed.status_code, closed.get_data(as_text=True)
    assert status == 200 and "Завершён" in body and "Ответ дан" in body
    assert closed.headers["HX-Trigger"] == '{"lineChanged": true}'
    strip = client.get("/staff/line/incoming", headers=htmx_headers(client)).get_data(True)
    assert "Идёт звонок" not in strip
    call = session.get(Call, call_id, populate_existing=True)
    assert call is not None and call.status == CallStatus.CLOSED
    assert call.duration_seconds is not None
    line = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.client_id == caller.id, HistoryEntry.kind == HistoryKind.LINE_CALL.value
        )
    ).one()
    assert "Тема: Время и порядок работы" in line.summary
    # The closed call is listed on the desk with its outcome.
    desk = client.get("/staff/line").get_data(as_text=True)
    assert "Ответ дан" in desk


def test_bad_topic_and_bad_client_are_refused(client: FlaskClient) -> None:
    login_as(client, "operator")
    call_id = _open(client)
    status, body = _post(client, f"/staff/line/calls/{call_id}/details", topic="weather")
    assert status == 422 and "Такой темы нет в списке" in body
    status, body = _post(client, f"/staff/line/calls/{call_id}/client", client="abc")
    assert status == 422 and "Выберите клиента из списка" in body
    status, body = _post(client, f"/staff/line/calls/{call_id}/close", outcome="")
    assert status == 422 and "Выберите итог звонка" in body


def test_register_the_caller_from_the_card(client: FlaskClient, session: Session) -> None:
    login_as(client, "operator")
    call_id = _open(client)
    status, body = _post(
        client,
        f"/staff/line/calls/{call_id}/register",
        surname="Орехова",
        first_name="Вера",
        patronymic="Павловна",
        phone="",
        channel="sms",
        consent="yes",
    )
    assert status == 422 and "телефон" in body.lower()
    assert session.exec(select(Call)).one().client_id is None
    status, body = _post(
        client,
        f"/staff/line/calls/{call_id}/register",
        surname="Орехова",
        first_name="Вера",
        patronymic="Павловна",
        phone="8 913 555-44-33",
        channel="sms",
        consent="yes",
    )
    assert status == 200 and "Клиент зарегистрирован." in body and "Орехова Вера Павловна" in body


def test_handover_shows_the_sentence_then_reaches_the_colleague(
    client: FlaskClient, app: object, session: Session
) -> None:
    caller = make_client(session)
    ivanova = staff_by_login(session, "ivanova")
    smirnov = staff_by_login(session, "smirnov")
    login_as(client, "operator")
    call_id = _open(client)
    _post(client, f"/staff/line/calls/{call_id}/client", client=str(caller.id))
    preview = client.get(
        f"/staff/line/calls/{call_id}/handover?to={ivanova.id}", headers=htmx_headers(client)
    ).get_data(as_text=True)
    assert preview.lstrip().startswith('<section class="call-section" id="call-handover"')
    assert (
        "Скажите клиенту: «Иван Петрович, сейчас я переключу ваш звонок на коллегу: "
        "Мария Петровна Иванова, главный специалист (отдел аренды земли)." in preview
    )
    status, body = _post(
        client, f"/staff/line/calls/{call_id}/handover", to=str(ivanova.id), note="Про договор"
    )
    assert status == 200 and "Звонок переключён" in body
    assert "Этот звонок ведёт Мария Петровна Иванова" in body
    # The operator may no longer act on it.
    status, body = _post(client, f"/staff/line/calls/{call_id}/close", outcome="answered")
    assert status == 403 and "Этот звонок ведёт Мария Петровна Иванова" in body

    colleague = app.test_client()  # type: ignore[attr-defined]
    login_as(colleague, "ivanova")
    strip = colleague.get("/staff/line/incoming", headers=htmx_headers(colleague)).get_data(True)
    assert "Вам переключили звонок" in strip and "Про договор" in strip
    desk = colleague.get("/staff/line").get_data(as_text=True)
    assert "переключён 1 раз" in desk and "Про договор" in desk
    # The desk's list re-reads itself with the strip: no push stream of its own.
    assert 'hx-trigger="lineIncoming from:body"' in desk
    incoming = colleague.get("/staff/line/incoming", headers=htmx_headers(colleague))
    assert incoming.headers["HX-Trigger"] == '{"lineIncoming": true}'
    _post(colleague, f"/staff/line/calls/{call_id}/handover", to=str(smirnov.id))
    back = app.test_client()  # type: ignore[attr-defined]
    login_as(back, "smirnov")
    status, body = _post(back, f"/staff/line/calls/{call_id}/handover", to=str(ivanova.id))
    assert status == 409 and "Звонок уже переключали дважды" in body
    assert session.get(Call, call_id, populate_existing=True).handover_count == 2  # type: ignore[union-attr]
    handed = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.client_id == caller.id,
            HistoryEntry.kind == HistoryKind.LINE_HANDOVER.value,
        )
    ).all()
    assert len(handed) == 2


def test_callback_is_promised_listed_in_calls_and_closed(
    client: FlaskClient, app: object, session: Session
) -> None:
    caller = make_client(session)
    ivanova = staff_by_login(session, "ivanova")
    login_as(client, "operator")
    call_id = _open(client)
    _post(client, f"/staff/line/calls/{call_id}/client", client=str(caller.id))
    status, body = _post(
        client,
        f"/staff/line/calls/{call_id}/callback",
        phone=caller.phone,
        working_days="2",
        from1="19:00",
        to1="21:00",
        responsible=str(ivanova.id),
    )
    assert status == 422 and "рабочие часы" in body
    status, body = _post(
        client,
        f"/staff/line/calls/{call_id}/callback",
        phone=caller.phone,
        working_days="2",
        from1="10:00",
        to1="12:00",
        responsible=str(ivanova.id),
        question="Готов ли договор",
    )
    assert status == 200 and "Перезвон записан." in body
    assert "Скажите клиенту: «Мы позвоним вам с ответом не позже чем" in body
    assert "с 10:00 до 12:00" in body
    _post(client, f"/staff/line/calls/{call_id}/details", topic="application")
    status, body = _post(client, f"/staff/line/calls/{call_id}/close", outcome="callback")
    assert status == 200 and "Обещан перезвон" in body

    specialist = app.test_client()  # type: ignore[attr-defined]
    login_as(specialist, "ivanova")
    page = specialist.get("/staff/calls").get_data(as_text=True)
    assert "Обещанные перезвоны" in page
    assert "Перезвонить Ивану Петровичу" in page and "Готов ли договор" in page
    assert "Задачи операторов" not in page  # a specialist sees only their call-backs
    assert f'href="/staff/line/calls/{call_id}">карточка звонка</a>' in page
    assert specialist.get(f"/staff/line/calls/{call_id}").status_code == 200  # her call-back
    callback = session.exec(select(CallBack)).one()
    url = f"/staff/calls/callbacks/{callback.id}/done"
    status, body = _post(specialist, url, answer="")
    assert status == 422 and "Запишите, какой ответ получил клиент" in body
    status, body = _post(specialist, url, answer="Договор готов")
    assert status == 200 and body.lstrip().startswith(f'<li id="callback-{callback.id}"')
    assert "Ответ: Договор готов" in body
    status, body = _post(specialist, url, answer="Ещё раз")
    assert status == 409 and "уже закрыт" in body
    # Another specialist has no such call-back and cannot close it.
    other = app.test_client()  # type: ignore[attr-defined]
    login_as(other, "smirnov")
    assert "Готов ли договор" not in other.get("/staff/calls").get_data(as_text=True)


def test_referral_is_recorded_and_sent(client: FlaskClient, session: Session) -> None:
    caller = make_client(session, channel="email")
    login_as(client, "operator")
    call_id = _open(client)
    found = client.get(
        f"/staff/line/calls/{call_id}/directory?dq=налог", headers=htmx_headers(client)
    ).get_data(as_text=True)
    assert "Федеральная налоговая служба" in found and "Росреестр" not in found
    status, body = _post(client, f"/staff/line/calls/{call_id}/refer", entry="3", send="yes")
    assert status == 422 and "найдите или зарегистрируйте клиента" in body
    _post(client, f"/staff/line/calls/{call_id}/client", client=str(caller.id))
    status, body = _post(client, f"/staff/line/calls/{call_id}/refer", entry="x")
    assert status == 422 and "Выберите организацию из справочника" in body
    status, body = _post(client, f"/staff/line/calls/{call_id}/refer", entry="3", send="yes")
    assert status == 200 and "Контакты отправлены клиенту." in body
    assert "Даны контакты: Федеральная налоговая служба" in body
    sent = session.exec(select(OutgoingMessage).where(OutgoingMessage.kind == "referral")).one()
    assert sent.channel == "email" and "8-800-222-22-22" in sent.body
    _post(client, f"/staff/line/calls/{call_id}/details", topic="other")
    status, body = _post(client, f"/staff/line/calls/{call_id}/close", outcome="referred")
    assert status == 200 and "Вопрос не в полномочиях департамента" in body


def test_crisis_phrases_and_the_non_business_end(client: FlaskClient, session: Session) -> None:
    caller = make_client(session)
    login_as(client, "operator")
    call_id = _open(client)
    _post(client, f"/staff/line/calls/{call_id}/client", client=str(caller.id))
    phrases = client.get(
        f"/staff/line/calls/{call_id}/crisis", headers=htmx_headers(client)
    ).get_data(as_text=True)
    assert "Иван Петрович, давайте возьмем паузу в обсуждении данного вопроса" in phrases
    assert "Иван Петрович, мы заинтересованы в дальнейшем деловом сотрудничестве" in phrases
    status, body = _post(client, f"/staff/line/calls/{call_id}/close", outcome="non_business")
    assert status == 409 and "предупредите клиента" in body
    status, body = _post(
        client, f"/staff/line/calls/{call_id}/close", outcome="non_business", warning_said="yes"
    )
    assert status == 200 and "Завершён как неделовой" in body
    assert "разговор носит неделовой характер" in body.lower()


def test_plain_form_post_redirects_to_the_card(client: FlaskClient) -> None:
    login_as(client, "operator")
    call_id = _open(client)
    response = client.post(
        f"/staff/line/calls/{call_id}/details",
        data={"topic": "hours", "note": "", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/line/calls/{call_id}")


def test_reports_show_the_line_with_a_chart_and_csv(client: FlaskClient) -> None:
    login_as(client, "admin")
    call_id = _open(client)
    _post(client, f"/staff/line/calls/{call_id}/details", topic="hours")
    _post(client, f"/staff/line/calls/{call_id}/close", outcome="answered")
    page = client.get("/staff/reports").get_data(as_text=True)
    assert "Консультационная линия (§18-27)" in page and "Звонки по дням и темам" in page
    assert 'aria-label="Звонки по темам"' in page  # the SVG chart
    assert "Ответ с первого обращения" in page
    csv = client.get("/staff/reports/calls_by_day.csv").get_data(as_text=True)
    header, row = csv.lstrip("\ufeff").splitlines()[:2]
    assert header.startswith("День;Звонков;Время и порядок работы;")
    assert row.split(";")[1:3] == ["1", "1"]


def test_a_specialist_sees_only_the_calls_they_took_part_in(
    client: FlaskClient, app: object, session: Session
) -> None:
    login_as(client, "operator")
    call_id = _open(client)
    specialist = app.test_client()  # type: ignore[attr-defined]
    login_as(specialist, "popov")
    card = specialist.get(f"/staff/line/calls/{call_id}")
    assert card.status_code == 403
    assert "коллегам, которым переключили звонок" in card.get_data(as_text=True)
    search = specialist.get(
        f"/staff/line/calls/{call_id}/search?q=913", headers=htmx_headers(specialist)
    )
    assert search.status_code == 403
    _post(
        client, f"/staff/line/calls/{call_id}/handover", to=str(staff_by_login(session, "popov").id)
    )
    assert specialist.get(f"/staff/line/calls/{call_id}").status_code == 200
    assert (
        specialist.get(
            f"/staff/line/calls/{call_id}/search?q=913", headers=htmx_headers(specialist)
        ).status_code
        == 200
    )


def test_handover_sentence_and_crisis_open_as_the_card_page_without_htmx(
    client: FlaskClient, session: Session
) -> None:
    caller = make_client(session)
    ivanova = staff_by_login(session, "ivanova")
    login_as(client, "operator")
    call_id = _open(client)
    _post(client, f"/staff/line/calls/{call_id}/client", client=str(caller.id))
    # A plain GET (a reload, a link opened in a new tab) gets the card page with the part inside.
    page = client.get(f"/staff/line/calls/{call_id}/handover?to={ivanova.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in body and 'id="call-card"' in body
    assert 'id="call-handover"' in body and "сейчас я переключу ваш звонок на коллегу" in body
    page = client.get(f"/staff/line/calls/{call_id}/crisis")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in body and 'id="call-card"' in body
