"""Channels against real local servers (aiosmtpd, http.server), templates and their style."""

from __future__ import annotations

import inspect
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlmodel import Session, select

from tests.factories import make_client, service_by_code, staff_by_login
from visits.config import Messaging, OfficeConfig
from visits.models import MessageKind, OutgoingMessage, Room, Staff
from visits.notify import templates
from visits.notify.channels import (
    ChannelError,
    Envelope,
    LogChannel,
    SmsGatewayChannel,
    SmtpChannel,
    channel_from_uri,
    html_of,
    sms_fit,
)
from visits.notify.outbox import message_queue
from visits.notify.templates import (
    MessageText,
    call_addressee,
    dative_first_name,
    dative_patronymic,
    style_problems,
)

TZ = ZoneInfo("Asia/Novosibirsk")


# --- Local servers the tests start (shared with test_reminders.py) -------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a local port; collects what arrives."""

    def __init__(self, port: int | None = None, *, login: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.handler = _Collect()
        kwargs: dict[str, Any] = {}
        if login is not None:

            def check(
                _server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any
            ) -> AuthResult:
                ok = (
                    isinstance(data, LoginPassword)
                    and (
                        data.login.decode(),
                        data.password.decode(),
                    )
                    == login
                )
                return AuthResult(success=ok, handled=False)

            kwargs = {"authenticator": check, "auth_require_tls": False}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@dataclass
class SmsGateway:
    """A local HTTP server that answers like SMS.ru; `statuses` scripts HTTP codes to return."""

    statuses: list[int] = field(default_factory=list)
    answer: dict[str, Any] | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms/send"

    def _reply(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        self.requests.append(params)
        self.methods.append(handler.command)
        status = self.statuses.pop(0) if self.statuses else 200
        phone = params.get("to", "")
        body = self.answer or {
            "status": "OK",
            "status_code": 100,
            "sms": {
                phone: {"status": "OK", "status_code": 100, "sms_id": f"id-{len(self.requests)}"}
            },
            "balance": 100.5,
        }
        data = json.dumps(body).encode() if status == 200 else b"Internal Server Error"
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def start(self) -> SmsGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                gateway._reply(self, dict(urllib.parse.parse_qsl(raw)))

            def do_GET(self) -> None:
                query = urllib.parse.urlsplit(self.path).query
                gateway._reply(self, dict(urllib.parse.parse_qsl(query)))

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway().start()
    yield gateway
    gateway.stop()


def with_messaging(config: OfficeConfig, **changes: Any) -> OfficeConfig:
    """The office config with some [messaging] settings changed."""
    return config.model_copy(update={"messaging": config.messaging.model_copy(update=changes)})


def _envelope(**overrides: Any) -> Envelope:
    values: dict[str, Any] = {
        "message_id": 7,
        "channel": "email",
        "recipient": "ivan@example.ru",
        "subject": "Приём завтра в 10:30",
        "body": "Иван Петрович, завтра в 10:30 вас примет Мария Петровна Иванова.\n"
        "Оцените приём: https://priem.example/r/abc",
        "short_body": "",
    }
    values.update(overrides)
    return Envelope(**values)


# --- E-mail ------------------------------------------------------------------------------


def test_smtp_sends_plain_and_html_parts(smtp_sink: SmtpSink) -> None:
    channel = channel_from_uri(
        f"smtp://127.0.0.1:{smtp_sink.port}",
        Messaging(email_from="priem@dizo.example"),
        name="email",
    )
    channel.send(_envelope())
    [msg] = smtp_sink.messages
    assert msg["From"] == "priem@dizo.example"
    assert msg["To"] == "ivan@example.ru"
    assert msg["Subject"] == "Приём завтра в 10:30"
    parts = {p.get_content_type(): p for p in msg.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    plain = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "Мария Петровна Иванова" in plain
    assert '<a href="https://priem.example/r/abc">' in html
    assert smtp_sink.handler.envelopes == [("priem@dizo.example", ["ivan@example.ru"])]


def test_smtp_logs_in_with_the_uri_credentials() -> None:
    sink = SmtpSink(login=("priem", "p@ss word")).start()
    try:
        good = channel_from_uri(
            f"smtp://priem:p%40ss%20word@127.0.0.1:{sink.port}", Messaging(), name="email"
        )
        good.send(_envelope())
        assert len(sink.messages) == 1
        bad = channel_from_uri(
            f"smtp://priem:wrong@127.0.0.1:{sink.port}", Messaging(), name="email"
        )
        with pytest.raises(ChannelError) as caught:
            bad.send(_envelope())
        assert not caught.value.permanent
        assert len(sink.messages) == 1
    finally:
        sink.stop()


def test_smtp_down_is_a_temporary_error() -> None:
    channel = SmtpChannel(host="127.0.0.1", port=free_port(), sender="a@b.c", timeout=2)
    with pytest.raises(ChannelError) as caught:
        channel.send(_envelope())
    assert not caught.value.permanent


def test_uri_picks_the_adapter() -> None:
    settings = Messaging()
    smtps = channel_from_uri("smtps://u:p@mail.example:465", settings, name="email")
    assert isinstance(smtps, SmtpChannel) and smtps.use_ssl and smtps.port == 465
    starttls = channel_from_uri("smtp://mail.example:587?starttls=1", settings, name="email")
    assert isinstance(starttls, SmtpChannel) and starttls.starttls and not starttls.use_ssl
    assert isinstance(channel_from_uri("log://", settings, name="sms"), LogChannel)
    assert isinstance(
        channel_from_uri("https://sms.ru/sms/send", settings, name="sms"), SmsGatewayChannel
    )
    with pytest.raises(ValueError, match="неизвестный"):
        channel_from_uri("carrier-pigeon://roof", settings, name="sms")


def test_html_part_escapes_text() -> None:
    assert "&lt;script&gt;" in html_of("<script>alert(1)</script>")


# --- SMS ---------------------------------------------------------------------------------


def test_sms_fit_cuts_at_a_word_boundary() -> None:
    text = "Иван Петрович, завтра в 10:30 вас примет Мария Петровна Иванова, кабинет 305"
    assert sms_fit(text, 200) == text
    cut = sms_fit(text, 40)
    assert len(cut) <= 40 and cut.endswith("…")
    words = cut.removesuffix("…").split()
    assert words == text.split()[: len(words)]  # no word broken in the middle


def test_sms_goes_in_the_smsru_format(sms_gateway: SmsGateway) -> None:
    settings = Messaging(sms_uri=sms_gateway.url, sms_api_id="KEY-1", sms_max_length=70)
    channel = channel_from_uri(settings.sms_uri, settings, name="sms")
    long_text = (
        "Иван Петрович, завтра в 10:30 вас примет Мария Петровна Иванова, кабинет 305, 3 этаж."
    )
    note = channel.send(_envelope(channel="sms", recipient="+79131234567", short_body=long_text))
    [params] = sms_gateway.requests
    assert sms_gateway.methods == ["POST"]
    assert params["api_id"] == "KEY-1" and params["to"] == "79131234567" and params["json"] == "1"
    assert len(params["msg"]) <= 70 and params["msg"].endswith("…")
    assert note == "id-1"


def test_sms_by_get_when_configured(sms_gateway: SmsGateway) -> None:
    settings = Messaging(sms_uri=sms_gateway.url, sms_method="GET", sms_format="plain")
    SmsGatewayChannel(url=sms_gateway.url, settings=settings).send(
        _envelope(channel="sms", recipient="+79131234567", short_body="Код 123")
    )
    assert sms_gateway.methods == ["GET"]
    assert sms_gateway.requests[0]["msg"] == "Код 123"


def test_sms_gateway_errors(sms_gateway: SmsGateway) -> None:
    settings = Messaging(sms_uri=sms_gateway.url)
    channel = SmsGatewayChannel(url=sms_gateway.url, settings=settings)
    sms_gateway.statuses = [500]
    with pytest.raises(ChannelError, match="500") as caught:
        channel.send(_envelope(channel="sms", recipient="+79131234567"))
    assert not caught.value.permanent
    sms_gateway.answer = {
        "status": "ERROR",
        "status_code": 200,
        "status_text": "Неправильный api_id",
    }
    with pytest.raises(ChannelError, match="api_id"):
        channel.send(_envelope(channel="sms", recipient="+79131234567"))
    sms_gateway.answer = {
        "status": "OK",
        "sms": {
            "79131234567": {
                "status": "ERROR",
                "status_code": 202,
                "status_text": "Неправильно указан номер",
            }
        },
    }
    with pytest.raises(ChannelError) as refused:
        channel.send(_envelope(channel="sms", recipient="+79131234567"))
    assert refused.value.permanent


# --- Templates and style (§5-6) -----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "Мы приняли меры по вашему обращению.",
        "Департамент провел ряд мероприятий.",
        "Запись на прием производится посредством звонка.",
        "Данное решение было принято в результате заседания.",
        "Обращение в работе.",
    ],
)
def test_style_checker_catches_the_orders_bad_examples(bad: str) -> None:
    assert style_problems(bad)


def test_style_checker_lets_the_orders_good_examples_pass() -> None:
    for good in (
        "Записаться можно по телефону",
        "Решение было принято на заседании",
        "Вас примет Мария Петровна Иванова, кабинет 305, 3 этаж",
        "Ваше обращение находится на рассмотрении в отделе X, у ФИО, телефон",
    ):
        assert style_problems(good) == [], good


def _all_texts(session: Session, config: OfficeConfig) -> dict[str, MessageText]:
    client = make_client(session)
    staff = staff_by_login(session, "ivanova")
    room = session.get(Room, staff.room_id)
    assert room is not None
    service = service_by_code(session, "land-lease")
    start = datetime(2026, 12, 17, 10, 30, tzinfo=TZ)
    return {
        "booking_confirmation": templates.booking_confirmation(
            config=config,
            client=client,
            service=service,
            staff=staff,
            room=room,
            local_start=start,
            code="ABC234",
        ),
        "booking_cancellation": templates.booking_cancellation(
            config=config, client=client, service=service, local_start=start
        ),
        "room_change": templates.room_change(
            client=client, ticket_number="А-001", room=room, route=room.route
        ),
        "visit_final": templates.visit_final(
            config=config,
            client=client,
            staff=staff,
            ticket_number="А-001",
            survey_url="https://priem.example/r/abc",
        ),
        "booking_reminder": templates.booking_reminder(
            config=config,
            client=client,
            staff=staff,
            room=room,
            local_start=start,
            local_send=datetime(2026, 12, 16, 10, 30, tzinfo=TZ),
            code="ABC234",
        ),
        "history_export_ready": templates.history_export_ready(
            config=config, client=client, pickup="Получить её можно в кабинете 101."
        ),
    }


def test_every_template_passes_the_style_check(
    session: Session, office_config: OfficeConfig
) -> None:
    texts = _all_texts(session, office_config)
    producers = {
        name
        for name, func in inspect.getmembers(templates, inspect.isfunction)
        if func.__module__ == templates.__name__
        and inspect.signature(func).return_annotation in ("MessageText", MessageText)
    }
    assert producers == set(texts), "a new template needs a sample here"
    client = make_client(session)
    for name, text in texts.items():
        for part in (text.subject, text.body, text.sms, text.call):
            assert style_problems(part) == [], (name, part)
        assert "Иван Петрович" in text.body, name  # §34.3: name and patronymic
        if text.sms:
            assert len(text.sms) <= office_config.messaging.sms_max_length, name
    for action in (
        templates.call_after_failure_action(channel_label="SMS", subject="Тема", error="500"),
    ):
        assert style_problems(templates.call_task_text(client=client, action=action)) == []


def test_reminder_says_today_or_tomorrow_as_of_sending(
    session: Session, office_config: OfficeConfig
) -> None:
    client = make_client(session)
    staff = staff_by_login(session, "ivanova")
    room = session.get(Room, staff.room_id)
    assert room is not None
    start = datetime(2026, 12, 17, 9, 0, tzinfo=TZ)

    def subject(send: datetime) -> str:
        return templates.booking_reminder(
            config=office_config,
            client=client,
            staff=staff,
            room=room,
            local_start=start,
            local_send=send,
            code="ABC234",
        ).subject

    assert subject(datetime(2026, 12, 16, 21, 0, tzinfo=TZ)).startswith("Приём завтра в 09:00")
    assert subject(datetime(2026, 12, 17, 7, 0, tzinfo=TZ)).startswith("Приём сегодня в 09:00")
    assert subject(datetime(2026, 12, 15, 9, 0, tzinfo=TZ)).startswith("Приём 17 декабря в 09:00")


@pytest.mark.parametrize(
    ("name", "dative"),
    [
        ("Иван", "Ивану"),
        ("Андрей", "Андрею"),
        ("Игорь", "Игорю"),
        ("Мария", "Марии"),
        ("Анна", "Анне"),
        ("Наталья", "Наталье"),
        ("Илья", "Илье"),
        ("Никита", "Никите"),
    ],
)
def test_first_names_in_the_dative(name: str, dative: str) -> None:
    assert dative_first_name(name) == dative


def test_patronymics_in_the_dative() -> None:
    assert dative_patronymic("Петрович") == "Петровичу"
    assert dative_patronymic("Петровна") == "Петровне"


def test_phone_channel_becomes_a_call_instruction(
    session: Session, office_config: OfficeConfig
) -> None:
    client = make_client(session, channel="phone", second_channel="email")
    assert call_addressee(client) == "Ивану Петровичу"
    text = MessageText(subject="Тема", body="Текст", call="напомнить о приёме завтра в 10:30")
    rows = message_queue(session, client=client, kind=MessageKind.REMINDER_DAY, text=text)
    by_channel = {r.channel: r for r in rows}
    assert by_channel["phone"].short_body == (
        f"Позвонить Ивану Петровичу, {client.phone}: напомнить о приёме завтра в 10:30"
    )
    assert by_channel["email"].short_body == "" and by_channel["email"].body == "Текст"


def test_operator_on_the_line_needs_no_second_call(session: Session) -> None:
    client = make_client(session, channel="phone")
    operator = session.exec(select(Staff).where(Staff.login == "operator")).one()
    [row] = message_queue(
        session,
        client=client,
        kind=MessageKind.CONFIRMATION,
        text=MessageText(subject="Запись", body="Текст"),
        staff=operator,
    )
    session.flush()
    assert row.status == "skipped" and "при разговоре" in row.skip_reason
    assert session.get(OutgoingMessage, row.id) is row
