"""Staff forms read into the core's keyword arguments, one reader per form for every screen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict


class ClientFields(TypedDict):
    """The registration form as visits.services.clients.client_register takes it (§3)."""

    surname: str
    first_name: str
    patronymic: str
    phone: str
    email: str
    channel: str | None
    second_channel: str | None
    consent: bool
    allow_early_messages: bool


def client_fields(form: Mapping[str, str]) -> ClientFields:
    """The typed registration form; the service checks every field and names the bad ones."""
    return ClientFields(
        surname=form.get("surname", ""),
        first_name=form.get("first_name", ""),
        patronymic=form.get("patronymic", ""),
        phone=form.get("phone", ""),
        email=form.get("email", ""),
        channel=form.get("channel") or None,
        second_channel=form.get("second_channel") or None,
        consent=form.get("consent") == "yes",
        allow_early_messages=form.get("allow_early_messages") == "yes",
    )


def client_prefill(query: str) -> dict[str, str]:
    """The registration form started from the search: digits are a phone, letters a surname."""
    query = query.strip()
    if not query:
        return {}
    if not any(ch.isalpha() for ch in query):
        return {"phone": query}
    return {"surname": query[:1].upper() + query[1:]}
