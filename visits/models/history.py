"""Interaction history (§4) and the staff audit log."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field, json_field


class HistoryKind(StrEnum):
    """Every touch point of §4. The Russian label is in HISTORY_LABELS."""

    CLIENT_REGISTERED = "client_registered"
    CLIENT_UPDATED = "client_updated"
    CLIENT_MERGED = "client_merged"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    BOOKING_CREATED = "booking_created"
    BOOKING_CHANGED = "booking_changed"
    BOOKING_CANCELLED = "booking_cancelled"
    MESSAGE_QUEUED = "message_queued"
    MESSAGE_SENT = "message_sent"
    MESSAGE_FAILED = "message_failed"
    MESSAGE_SKIPPED = "message_skipped"
    CALL_TASK = "call_task"
    CALL_TASK_DONE = "call_task_done"
    LINE_CALL = "line_call"
    LINE_HANDOVER = "line_handover"
    LINE_REFERRAL = "line_referral"
    CALLBACK_PROMISED = "callback_promised"
    CALLBACK_DONE = "callback_done"
    CHECKED_IN = "checked_in"
    TICKET_PRINTED = "ticket_printed"
    CALLED = "called"
    RECALLED = "recalled"
    RETURNED_TO_QUEUE = "returned_to_queue"
    NO_SHOW = "no_show"
    SERVICE_STARTED = "service_started"
    TRANSFERRED = "transferred"
    MEETING_ROOM = "meeting_room"
    MEETING_ROOM_RELEASED = "meeting_room_released"
    COLLEAGUE_INVITED = "colleague_invited"
    SERVED = "served"
    RATED = "rated"
    RATING_SKIPPED = "rating_skipped"
    NOTE_ADDED = "note_added"
    DEPARTMENT_FAULT = "department_fault"  # §35.5
    HISTORY_EXPORTED = "history_exported"


HISTORY_LABELS: dict[str, str] = {
    HistoryKind.CLIENT_REGISTERED: "Регистрация клиента",
    HistoryKind.CLIENT_UPDATED: "Изменение данных клиента",
    HistoryKind.CLIENT_MERGED: "Объединение записей клиента",
    HistoryKind.CONSENT_WITHDRAWN: "Отзыв согласия на обработку данных",
    HistoryKind.BOOKING_CREATED: "Запись на приём",
    HistoryKind.BOOKING_CHANGED: "Изменение записи",
    HistoryKind.BOOKING_CANCELLED: "Отмена записи",
    HistoryKind.MESSAGE_QUEUED: "Сообщение поставлено в очередь",
    HistoryKind.MESSAGE_SENT: "Сообщение отправлено",
    HistoryKind.MESSAGE_FAILED: "Сообщение не отправлено",
    HistoryKind.MESSAGE_SKIPPED: "Сообщение не отправлялось",
    HistoryKind.CALL_TASK: "Задача позвонить клиенту",
    HistoryKind.CALL_TASK_DONE: "Оператор позвонил клиенту",
    HistoryKind.LINE_CALL: "Звонок на консультационную линию",
    HistoryKind.LINE_HANDOVER: "Звонок переключён на коллегу",
    HistoryKind.LINE_REFERRAL: "Даны контакты другого органа",
    HistoryKind.CALLBACK_PROMISED: "Обещан ответ по телефону",
    HistoryKind.CALLBACK_DONE: "Ответ дан по телефону",
    HistoryKind.CHECKED_IN: "Регистрация в терминале, выдан талон",
    HistoryKind.TICKET_PRINTED: "Талон напечатан",
    HistoryKind.CALLED: "Вызов в кабинет",
    HistoryKind.RECALLED: "Повторный вызов",
    HistoryKind.RETURNED_TO_QUEUE: "Возврат в очередь",
    HistoryKind.NO_SHOW: "Клиент не подошёл",
    HistoryKind.SERVICE_STARTED: "Начало приёма",
    HistoryKind.TRANSFERRED: "Передача другому специалисту",
    HistoryKind.MEETING_ROOM: "Переход в переговорную",
    HistoryKind.MEETING_ROOM_RELEASED: "Переговорная освобождена",
    HistoryKind.COLLEAGUE_INVITED: "Приглашён коллега",
    HistoryKind.SERVED: "Приём завершён",
    HistoryKind.RATED: "Оценка визита",
    HistoryKind.RATING_SKIPPED: "Оценка не поставлена",
    HistoryKind.NOTE_ADDED: "Заметка специалиста",
    HistoryKind.DEPARTMENT_FAULT: "Ошибка департамента, извинения",
    HistoryKind.HISTORY_EXPORTED: "Выдача истории взаимодействия",
}


class HistoryEntry(SQLModel, table=True):
    """One event of a client's interaction history, kept five years (§4).

    `summary` is the Russian text as it was at the time: ticket numbers,
    rooms and staff names are copied in, not joined later.
    """

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    at: datetime = Field(index=True)
    kind: str = Field(max_length=40, index=True)
    # Who acted: a staff member, or a device/system label ("Терминал в холле", "Система").
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    actor: str = Field(default="", max_length=200)
    channel: str | None = Field(default=None, max_length=20)
    summary: str = Field(max_length=4000)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    data: dict[str, Any] = json_field(dict)


class AuditEntry(SQLModel, table=True):
    """Who did what in the staff panel, and who looked at whose data."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    action: str = Field(max_length=60, index=True)
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    details: str = Field(default="", max_length=2000)
