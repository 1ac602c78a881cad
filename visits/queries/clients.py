"""Finding clients by phone or surname: a read shared by the desk and the client cards."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from visits.models import Client

_LETTER = re.compile(r"[A-Za-zА-Яа-яЁё]")


def client_search(*, session: Session, query: str, limit: int = 20) -> list[Client]:
    """Find clients by phone (any format) or by the start of the surname."""
    text = " ".join((query or "").split())[:100]
    if not text:
        return []
    digits = re.sub(r"\D", "", text)
    base = select(Client).where(col(Client.merged_into_id).is_(None))
    if not _LETTER.search(text):
        # A phone in any format: "+7 (913) 123-45-67", "8 913 123", "4567".
        if len(digits) < 3:
            return []
        if len(digits) == 11 and digits[0] in "78":
            digits = digits[1:]
        stmt = base.where(col(Client.phone).contains(digits, autoescape=True))
    else:
        # "Петров" or "Петров Ив": the start of the surname, then of the first name.
        # SQLite's lower() knows only ASCII, so Cyrillic is matched in both common cases.
        words = [w for w in re.split(r"[\s,.]+", text) if w]
        stmt = base.where(_starts(Client.surname, words[0]))
        if len(words) > 1:
            stmt = stmt.where(_starts(Client.first_name, words[1]))
    return list(session.exec(stmt.order_by(Client.surname, Client.first_name).limit(limit)).all())


def _starts(column: Any, word: str) -> Any:
    return or_(
        func.lower(column).startswith(word.lower(), autoescape=True),
        col(column).startswith(word[:1].upper() + word[1:].lower(), autoescape=True),
    )
