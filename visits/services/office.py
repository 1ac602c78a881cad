"""Bring the database in line with the office config (rooms, services, staff)."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from visits.config import OfficeConfig
from visits.db import write_transaction
from visits.models import Room, Service, Staff, StaffService

log = logging.getLogger(__name__)


def office_sync(*, session: Session, config: OfficeConfig) -> None:
    """Upsert rooms, services and staff from the config; deactivate the ones removed.

    Rows are never deleted: bookings, tickets and history keep pointing at them.
    """
    with write_transaction(session):
        rooms = _rooms_sync(session, config)
        services = _services_sync(session, config)
        # The staff rows below point at rooms and services by id.
        session.flush()
        wanted_links = _staff_sync(session, config, rooms, services)
        _links_sync(session, wanted_links)
    log.info(
        "office config synced: %d rooms, %d services, %d staff",
        len(config.rooms),
        len(config.services),
        len(config.staff),
    )


def _rooms_sync(session: Session, config: OfficeConfig) -> dict[str, Room]:
    """Upsert the config's rooms, deactivate the others; return all rooms by number."""
    rooms = {r.number: r for r in session.exec(select(Room)).all()}
    for item in config.rooms:
        room = rooms.get(item.number) or Room(number=item.number, floor=item.floor)
        room.floor, room.kind, room.name, room.route = (
            item.floor,
            item.kind,
            item.name,
            item.route,
        )
        room.active = True
        session.add(room)
        rooms[item.number] = room
    for number, room in rooms.items():
        if number not in {r.number for r in config.rooms}:
            room.active = False
    return rooms


def _services_sync(session: Session, config: OfficeConfig) -> dict[str, Service]:
    """Upsert the config's services, deactivate the others; return all services by code."""
    services = {s.code: s for s in session.exec(select(Service)).all()}
    for svc in config.services:
        service = services.get(svc.code)
        if service is None:
            # Letters may move between services: free this one first.
            for other in services.values():
                if other.letter == svc.letter and other.code != svc.code:
                    other.letter = other.letter.lower()
            service = Service(
                code=svc.code,
                name=svc.name,
                letter=svc.letter,
                duration_minutes=svc.duration_minutes,
            )
        service.name, service.letter = svc.name, svc.letter
        service.duration_minutes, service.documents = svc.duration_minutes, list(svc.documents)
        service.active = True
        session.add(service)
        services[svc.code] = service
    for code, service in services.items():
        if code not in {s.code for s in config.services}:
            service.active = False
    return services


def _staff_sync(
    session: Session,
    config: OfficeConfig,
    rooms: dict[str, Room],
    services: dict[str, Service],
) -> set[tuple[int, int]]:
    """Upsert the config's staff, deactivate the others; return the wanted (staff, service) links."""
    staff_rows = {s.login: s for s in session.exec(select(Staff)).all()}
    wanted_links: set[tuple[int, int]] = set()
    for member in config.staff:
        staff = staff_rows.get(member.login) or Staff(
            login=member.login, surname=member.surname, first_name=member.first_name
        )
        staff.surname, staff.first_name, staff.patronymic = (
            member.surname,
            member.first_name,
            member.patronymic,
        )
        staff.position, staff.unit, staff.unit_head = (
            member.position,
            member.unit,
            member.unit_head,
        )
        staff.roles = list(member.roles)
        staff.room_id = rooms[member.room].id if member.room else None
        staff.active = True
        session.add(staff)
        session.flush()
        assert staff.id is not None
        for code in member.services:
            service_id = services[code].id
            assert service_id is not None
            wanted_links.add((staff.id, service_id))
        staff_rows[member.login] = staff
    for login, staff in staff_rows.items():
        if login not in {m.login for m in config.staff}:
            staff.active = False
    return wanted_links


def _links_sync(session: Session, wanted_links: set[tuple[int, int]]) -> None:
    """Add the missing staff-service links and delete the ones no longer wanted."""
    links = {
        (link.staff_id, link.service_id): link for link in session.exec(select(StaffService)).all()
    }
    for key in wanted_links - set(links):
        session.add(StaffService(staff_id=key[0], service_id=key[1]))
    for key, link in links.items():
        if key not in wanted_links:
            session.delete(link)
