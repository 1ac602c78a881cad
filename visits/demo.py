"""Demo data: clients, bookings around the current time, and the demo devices."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import Client, Device, DeviceKind, Service, Staff
from visits.queries.slots import free_slots
from visits.services.booking import booking_create
from visits.services.calls import (
    call_client_set,
    call_close,
    call_details_set,
    call_handover,
    call_open,
    call_refer,
    callback_promise,
)
from visits.services.clients import client_register
from visits.services.devices import device_create
from visits.services.staff import staff_set_password

log = logging.getLogger(__name__)

DEMO_CLIENTS = [
    ("Петров", "Иван", "Петрович", "+79131234567", "ivan.petrov@example.ru", "email", "sms"),
    ("Сидорова", "Анна", "Михайловна", "+79139876543", None, "sms", None),
    ("Кузьмин", "Олег", "Дмитриевич", "+73832123456", None, "phone", None),
    ("Григорьева", "Валентина", "Степановна", "+79235550101", None, "phone", "sms"),
    ("Алексеев", "Николай", "Фёдорович", "+79609998877", "n.alekseev@example.ru", "email", None),
    ("Захарова", "Людмила", "Ивановна", "+79001112233", None, "sms", None),
    ("Тимофеев", "Виктор", "Андреевич", "+79134445566", "v.timofeev@example.ru", "sms", "email"),
    ("Миронова", "Екатерина", "Павловна", "+79237778899", None, "sms", None),
]


# Today: one visitor late, some due soon, one too early to check in yet; one tomorrow.
# (index into DEMO_CLIENTS, service code, specialist's login, offset from now)
DEMO_PLAN = [
    (0, "land-lease", "ivanova", timedelta(minutes=10)),
    (1, "land-lease", "smirnov", timedelta(minutes=25)),
    (2, "payments", "kuznetsova", timedelta(minutes=-10)),
    (3, "land-free", "popov", timedelta(minutes=40)),
    (4, "cadastre", "volkova", timedelta(minutes=150)),
    (5, "property-lease", "lebedev", timedelta(minutes=55)),
    (6, "land-lease", "ivanova", timedelta(days=1)),
]


def demo_seed(*, session: Session, calendar: WorkCalendar) -> dict[str, str]:
    """Fill an empty, synced database with demo data; return the demo bookings' codes."""
    config = calendar.config
    for staff in session.exec(select(Staff)).all():
        staff_set_password(session=session, login=staff.login, password=config.demo.password)
    if session.exec(select(Client)).first() is not None:
        log.info("demo: data already present, nothing added")
        return {}
    clients = _demo_clients(session)
    operator = session.exec(select(Staff).where(Staff.login == "operator")).one()
    services = {s.code: s for s in session.exec(select(Service)).all()}
    codes: dict[str, str] = {}
    now = utcnow()
    staff_by_login = {s.login: s for s in session.exec(select(Staff)).all()}
    for index, service_code, login, offset in DEMO_PLAN:
        client = clients[index]
        code = _demo_book(
            session,
            calendar,
            client=client,
            service=services[service_code],
            specialist=staff_by_login[login],
            operator=operator,
            target=now + offset,
            now=now,
        )
        if code is not None:
            codes[client.full_name] = code
    _demo_calls(session, calendar, clients=clients, staff=staff_by_login, now=now)
    _demo_devices(session, calendar)
    return codes


def _demo_calls(
    session: Session,
    calendar: WorkCalendar,
    *,
    clients: list[Client],
    staff: dict[str, Staff],
    now: datetime,
) -> None:
    """Record this morning's consultation line (§18-27): answered, handed over, referred."""
    operator = staff["operator"]
    answered = _demo_call_open(
        session,
        calendar,
        operator=operator,
        client=clients[5],
        topic="hours",
        note="Работаете ли в пятницу после обеда",
        at=now - timedelta(minutes=50),
    )
    call_close(
        session=session,
        calendar=calendar,
        call_id=answered,
        staff=operator,
        outcome="answered",
        now=now - timedelta(minutes=47),
    )
    _demo_call_handed_over(session, calendar, client=clients[7], staff=staff, now=now)
    _demo_call_referred(session, calendar, operator=operator, now=now)


def _demo_call_open(
    session: Session,
    calendar: WorkCalendar,
    *,
    operator: Staff,
    client: Client | None,
    topic: str,
    note: str,
    at: datetime,
) -> int:
    """Open a call taken by the operator at `at`, with its client and question; return its id."""
    opened = call_open(session=session, staff=operator, now=at)
    assert opened.id is not None
    if client is not None:
        call_client_set(session=session, call_id=opened.id, staff=operator, client_id=client.id)
    call_details_set(
        session=session,
        config=calendar.config,
        call_id=opened.id,
        staff=operator,
        topic=topic,
        service_id=None,
        note=note,
    )
    return opened.id


def _demo_call_handed_over(
    session: Session,
    calendar: WorkCalendar,
    *,
    client: Client,
    staff: dict[str, Staff],
    now: datetime,
) -> None:
    """Hand a call over to a specialist, who promises a call-back (it waits in «Звонки»)."""
    operator, ivanova = staff["operator"], staff["ivanova"]
    handed = _demo_call_open(
        session,
        calendar,
        operator=operator,
        client=client,
        topic="application",
        note="Когда будет готов договор аренды",
        at=now - timedelta(minutes=35),
    )
    call_handover(
        session=session,
        call_id=handed,
        staff=operator,
        to_staff_id=ivanova.id or 0,
        now=now - timedelta(minutes=33),
    )
    callback_promise(
        session=session,
        calendar=calendar,
        call_id=handed,
        staff=ivanova,
        phone=client.phone,
        working_days=calendar.config.consultation.callback_working_days,
        intervals=[],
        question="Готов ли договор аренды и когда его подписать",
        now=now - timedelta(minutes=30),
    )
    call_close(
        session=session,
        calendar=calendar,
        call_id=handed,
        staff=ivanova,
        outcome="callback",
        now=now - timedelta(minutes=29),
    )


def _demo_call_referred(
    session: Session, calendar: WorkCalendar, *, operator: Staff, now: datetime
) -> None:
    """Send an anonymous caller to the tax service from the directory (§26), if it is there."""
    config = calendar.config
    tax = next((i for i, e in enumerate(config.directory) if "налог" in e.topics.lower()), None)
    if tax is None:
        return
    referred = _demo_call_open(
        session,
        calendar,
        operator=operator,
        client=None,
        topic="other",
        note="Земельный налог за прошлый год",
        at=now - timedelta(minutes=20),
    )
    call_refer(
        session=session,
        config=config,
        call_id=referred,
        staff=operator,
        entry_index=tax,
        send=False,
    )
    call_close(
        session=session,
        calendar=calendar,
        call_id=referred,
        staff=operator,
        outcome="referred",
        now=now - timedelta(minutes=17),
    )


def _demo_clients(session: Session) -> list[Client]:
    """Register the demo clients."""
    return [
        client_register(
            session=session,
            surname=s,
            first_name=f,
            patronymic=p,
            phone=ph,
            email=e,
            channel=c,
            second_channel=c2,
            consent=True,
        )
        for s, f, p, ph, e, c, c2 in DEMO_CLIENTS
    ]


def _demo_book(
    session: Session,
    calendar: WorkCalendar,
    *,
    client: Client,
    service: Service,
    specialist: Staff,
    operator: Staff,
    target: datetime,
    now: datetime,
) -> str | None:
    """Book the specialist's first free slot near the target time; return its code, if any."""
    slots = free_slots(
        session,
        calendar,
        service=service,
        staff_id=specialist.id,
        first_day=calendar.to_local(target).date(),
        days=2,
        now=target - timedelta(minutes=20),
    )
    slot = next((s for s in slots if s.starts_at >= target - timedelta(minutes=15)), None)
    if slot is None:
        return None
    confirmation = booking_create(
        session=session,
        calendar=calendar,
        client_id=client.id or 0,
        service_id=service.id or 0,
        staff_id=slot.staff_id,
        starts_at=slot.starts_at,
        remind_day_before=True,
        remind_two_hours_before=True,
        staff=operator,
        # A slot already begun (the late visitor) is booked as if made before it.
        now=min(now, slot.starts_at),
    )
    return confirmation.booking.code


def _demo_devices(session: Session, calendar: WorkCalendar) -> None:
    """Create the demo kiosk, displays and tablets unless devices exist."""
    if session.exec(select(Device)).first() is not None:
        return
    device_create(
        session=session,
        kind=DeviceKind.KIOSK,
        name="Терминал в холле",
        printer_uri="virtual://kiosk-1",
        printer_profile="TM-T20II",
    )
    for spot in calendar.config.spots:
        device_create(
            session=session, kind=DeviceKind.DISPLAY, name=f"Табло: {spot.name}", spot_key=spot.key
        )
    for number in ("305", "301", "203"):
        device_create(
            session=session,
            kind=DeviceKind.TABLET,
            name=f"Планшет кабинета {number}",
            room_number=number,
        )
