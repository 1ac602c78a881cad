"""Printer failures with a short Russian message for the staff."""

from __future__ import annotations

from typing import Final, Literal, get_args

ReasonCode = Literal[
    "refused", "timeout", "paper_out", "cover_open", "offline", "io", "error", "unconfirmed"
]

REASON_CODES: Final[frozenset[str]] = frozenset(get_args(ReasonCode))

DEFAULT_MESSAGES: Final[dict[ReasonCode, str]] = {
    "refused": "Принтер отклонил подключение",
    "timeout": "Принтер не отвечает",
    "paper_out": "В принтере закончилась бумага",
    "cover_open": "Открыта крышка принтера",
    "offline": "Принтер недоступен",
    "io": "Ошибка связи с принтером",
    "error": "Ошибка принтера",
    "unconfirmed": "Принтер не подтвердил печать талона",
}


class PrinterError(Exception):
    """A ticket could not be sent to the printer.

    `reason_code` is for code (one of `REASON_CODES`), `message` is for people.
    """

    def __init__(self, reason_code: ReasonCode, message: str | None = None) -> None:
        if reason_code not in REASON_CODES:
            raise ValueError(f"unknown printer reason code: {reason_code!r}")
        self.reason_code: ReasonCode = reason_code
        self.message: str = message or DEFAULT_MESSAGES[reason_code]
        super().__init__(reason_code, self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"PrinterError({self.reason_code!r}, {self.message!r})"
