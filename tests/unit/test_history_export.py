"""Handing out the history (§4): PDF, HTML, JSON, CSV, by message; each export recorded."""

import csv
import io
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from pypdf import PdfReader
from sqlmodel import Session, select

from tests.factories import (
    make_booking,
    make_client,
    next_working_moment,
    staff_by_login,
    walk_visit,
)
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.errors import Forbidden, InvalidInput, RuleViolation
from visits.export import ExportFormat, export_render
from visits.export.document import HistoryDocument
from visits.export.to_json import history_schema
from visits.export.to_pdf import pdf_font_path
from visits.models import AuditEntry, HistoryEntry, HistoryKind, MessageKind, OutgoingMessage
from visits.notify.sender import outbox_send_due
from visits.services.client_data import client_consent_withdraw, client_update
from visits.services.history_export import history_export, history_send


def _export(session: Session, calendar: WorkCalendar, client_id: int, fmt: str) -> bytes:
    return history_export(
        session=session,
        calendar=calendar,
        staff=staff_by_login(session, "operator"),
        client_id=client_id,
        fmt=fmt,
    ).content


def _summaries(session: Session, client_id: int) -> list[str]:
    return [
        e.summary
        for e in session.exec(
            select(HistoryEntry)
            .where(HistoryEntry.client_id == client_id)
            .order_by(HistoryEntry.at, HistoryEntry.id)
        ).all()
    ]


def test_pdf_carries_the_name_and_every_event_in_its_text(
    session: Session, calendar: WorkCalendar
) -> None:
    client, ticket = walk_visit(session, calendar)
    expected = _summaries(session, client.id)
    content = _export(session, calendar, client.id, "pdf")
    assert content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    flat = " ".join(text.split())
    assert "Сидоров Пётр Ильич" in flat
    assert ticket.number in flat
    for summary in expected:
        # Long summaries wrap; compare their first words.
        assert " ".join(summary.split()[:4]) in flat


def test_json_validates_against_the_schema(session: Session, calendar: WorkCalendar) -> None:
    client, _ticket = walk_visit(session, calendar)
    expected = _summaries(session, client.id)
    document = json.loads(_export(session, calendar, client.id, "json"))
    Draft202012Validator.check_schema(history_schema())
    Draft202012Validator(history_schema()).validate(document)
    assert document["client"]["full_name"] == "Сидоров Пётр Ильич"
    assert [e["summary"] for e in document["entries"]] == expected
    # The message text as it was sent is part of the history.
    queued = next(e for e in document["entries"] if e["kind"] == "message_queued")
    assert "Пётр Ильич, вы записаны на приём" in queued["message"]


def test_renderers_need_no_session_and_cover_every_format(session: Session) -> None:
    """The renderers are pure: a document in, a file out, nothing read or written."""
    client = make_client(session)
    session.expunge_all()
    empty = HistoryDocument(
        office="Департамент",
        client=client,
        phone="+7 913 000-00-00",
        generated_at_local="01.12.2026 10:00",
        generated_by="Оператор",
        rows=[],
        time_zone_label="омское",
    )
    starts = {
        ExportFormat.PDF: b"%PDF",
        ExportFormat.HTML: b"<!doctype html>",
        ExportFormat.JSON: b"{",
        ExportFormat.CSV: "\ufeff".encode(),
    }
    for fmt in ExportFormat:
        assert export_render(empty, fmt).startswith(starts[fmt]), fmt
    html = export_render(empty, ExportFormat.HTML).decode()
    assert "Событий нет." in html
    # The time zone is named as the office file names it ([office] time_zone_label).
    assert "Время — омское." in html


def test_pdf_font_is_the_setting_when_it_is_a_file(tmp_path: Path) -> None:
    shipped = pdf_font_path()
    chosen = tmp_path / "font.ttf"
    chosen.write_bytes(shipped.read_bytes())
    assert pdf_font_path(chosen) == chosen
    assert pdf_font_path(tmp_path / "missing.ttf") == shipped


def test_schema_lists_every_history_kind() -> None:
    kinds = history_schema()["$defs"]["entry"]["properties"]["kind"]["enum"]
    assert sorted(kinds) == sorted(k.value for k in HistoryKind)


def test_csv_has_a_row_per_event(session: Session, calendar: WorkCalendar) -> None:
    client, _ticket = walk_visit(session, calendar)
    expected = _summaries(session, client.id)
    content = _export(session, calendar, client.id, "csv")
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Дата и время (Новосибирск)"
    assert [r[5] for r in rows[1:]] == expected
    assert rows[1][1] == "Регистрация клиента"


def test_html_is_escaped_and_printable(session: Session, calendar: WorkCalendar) -> None:
    client = make_client(session, surname="О'Нил")
    html = _export(session, calendar, client.id, "html").decode()
    assert "О&#39;Нил" in html
    assert "window.print()" in html and "@media print" in html
    assert 'data-kind="client_registered"' in html


def test_export_is_recorded_in_history_and_audit(session: Session, calendar: WorkCalendar) -> None:
    client = make_client(session)
    operator = staff_by_login(session, "operator")
    result = history_export(
        session=session, calendar=calendar, staff=operator, client_id=client.id, fmt="csv"
    )
    assert result.entries == 1
    assert result.filename.endswith(".csv")
    kinds = [
        e.kind
        for e in session.exec(
            select(HistoryEntry)
            .where(HistoryEntry.client_id == client.id)
            .order_by(HistoryEntry.id)
        ).all()
    ]
    assert kinds == ["client_registered", "history_exported"]
    audit = session.exec(
        select(AuditEntry).where(
            AuditEntry.client_id == client.id, AuditEntry.action == "history.export"
        )
    ).one()
    assert audit.staff_id == operator.id


def test_export_follows_the_access_rule(session: Session, calendar: WorkCalendar) -> None:
    booking = make_booking(session, calendar, staff_login="ivanova")
    for login, allowed in (("ivanova", True), ("smirnov", False)):
        call = lambda login=login: history_export(  # noqa: E731
            session=session,
            calendar=calendar,
            staff=staff_by_login(session, login),
            client_id=booking.client_id,
            fmt="json",
        )
        if allowed:
            assert call().entries >= 2
        else:
            with pytest.raises(Forbidden):
                call()


def test_unknown_format_is_refused(session: Session, calendar: WorkCalendar) -> None:
    client = make_client(session)
    with pytest.raises(InvalidInput):
        _export(session, calendar, client.id, "docx")


def test_send_queues_the_history_by_the_clients_channel(
    session: Session, calendar: WorkCalendar
) -> None:
    client = make_client(session, channel="email", second_channel="sms")
    rows = history_send(
        session=session,
        calendar=calendar,
        staff=staff_by_login(session, "operator"),
        client_id=client.id,
    )
    assert [(r.channel, r.kind) for r in rows] == [
        ("email", MessageKind.HISTORY_EXPORT.value),
        ("sms", MessageKind.HISTORY_EXPORT.value),
    ]
    assert "Клиент зарегистрирован" in rows[0].body
    assert rows[0].body.startswith("Иван Петрович,")
    exported = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.client_id == client.id,
            HistoryEntry.kind == HistoryKind.HISTORY_EXPORTED.value,
        )
    ).one()
    assert exported.data["format"] == "message"


def test_send_is_refused_without_consent_or_written_channel(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    withdrawn = make_client(session)
    client_consent_withdraw(session=session, client_id=withdrawn.id, staff=operator)
    phone_only = make_client(session, channel="phone")
    for client in (withdrawn, phone_only):
        with pytest.raises(RuleViolation):
            history_send(session=session, calendar=calendar, staff=operator, client_id=client.id)
    assert not session.exec(
        select(OutgoingMessage).where(OutgoingMessage.kind == MessageKind.HISTORY_EXPORT.value)
    ).all()


def test_sent_history_masks_phone_numbers(session: Session, calendar: WorkCalendar) -> None:
    operator = staff_by_login(session, "operator")
    client = make_client(session, channel="email", phone="+79130001122")
    client_update(
        session=session,
        client_id=client.id,
        staff=operator,
        surname=client.surname,
        first_name=client.first_name,
        patronymic=client.patronymic,
        phone="+79135557788",
        email=client.email,
        channel="email",
        second_channel=None,
    )
    (row,) = history_send(session=session, calendar=calendar, staff=operator, client_id=client.id)
    assert "+7 *** ***-11-22 → +7 *** ***-77-88" in row.body
    assert "913 000-11-22" not in row.body and "555-77-88" not in row.body


def test_a_reminder_is_exported_as_the_card_reads_it(
    session: Session, calendar: WorkCalendar, office_config: OfficeConfig
) -> None:
    """§30, §4: every export names the reminder, its due time, what became of it and the channel."""
    client = make_client(session, channel="sms")
    visit = next_working_moment(calendar, days_ahead=2, hour=14, minute=0)
    booking = make_booking(
        session,
        calendar,
        client=client,
        starts_at=visit,
        remind_day_before=True,
        remind_two_hours_before=True,
    )
    day_before = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.booking_id == booking.id,
            OutgoingMessage.kind == MessageKind.REMINDER_DAY.value,
        )
    ).one()
    outbox_send_due(session=session, config=office_config, now=day_before.due_at)
    session.refresh(day_before)
    assert day_before.sent_at is not None
    due = calendar.to_local(day_before.due_at).strftime("%d.%m.%Y %H:%M")
    sent = calendar.to_local(day_before.sent_at).strftime("%d.%m.%Y %H:%M")

    document = json.loads(_export(session, calendar, client.id, "json"))
    Draft202012Validator(history_schema()).validate(document)
    reminders = {
        e["label"]: e["summary"]
        for e in document["entries"]
        if e["label"].startswith("Напоминание")
    }
    assert (
        reminders["Напоминание за сутки: запланировано"]
        == reminders["Напоминание за сутки: отправлено"]
    )
    assert reminders["Напоминание за сутки: отправлено"] == (
        f"Срок: {due}. Отправлено {sent} (SMS)."
    )
    assert reminders["Напоминание за два часа: запланировано"].endswith(
        "Ещё не отправлено: уйдёт в срок (SMS)."
    )
    assert not any(s.startswith("Сообщение поставлено") for s in reminders.values())

    rows = list(
        csv.reader(
            io.StringIO(_export(session, calendar, client.id, "csv").decode("utf-8-sig")),
            delimiter=";",
        )
    )
    assert ["Напоминание за сутки: отправлено", f"Срок: {due}. Отправлено {sent} (SMS)."] in [
        [r[1], r[5]] for r in rows
    ]
    html = _export(session, calendar, client.id, "html").decode()
    assert "Напоминание за сутки: запланировано" in html and f"Срок: {due}." in html
    pdf = _export(session, calendar, client.id, "pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    assert "Напоминание за сутки: отправлено" in flat and f"Срок: {due}." in flat
