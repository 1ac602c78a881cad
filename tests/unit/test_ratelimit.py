"""Limits on guessable things: growing waits, kiosk look-ups, walk-in caps, across servers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlmodel import Session, select

from tests.conftest import TEST_PASSWORD, Database, csrf_of
from tests.factories import make_device, next_working_moment, service_by_code
from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig
from visits.db import make_engine, make_sessionmaker
from visits.errors import TooManyAttempts
from visits.models import DeviceKind, RateLimitHit, Throttle
from visits.services.checkin import walkin_book
from visits.services.ratelimit import (
    Backoff,
    Limits,
    kiosk_lookup_hit,
    limits_purge,
    pairing_attempt_check,
    pairing_failed,
    throttle_check,
    throttle_clear,
    throttle_fail,
    throttle_key,
)

BACKOFF = Backoff(
    free=3, first=timedelta(seconds=2), longest=timedelta(seconds=60), forget=timedelta(minutes=15)
)


def test_waits_double_after_the_free_failures_and_stop_at_the_longest() -> None:
    waits = [BACKOFF.wait(n).total_seconds() for n in range(10)]
    assert waits == [0, 0, 0, 2, 4, 8, 16, 32, 60, 60]
    assert BACKOFF.wait(10**6) == timedelta(seconds=60)


def test_keys_are_short_whatever_the_value() -> None:
    key = throttle_key("login", " Admin\x00" + "я" * 100_000)
    assert len(key) <= 120
    assert throttle_key("login", "ADMIN ") == throttle_key("login", "admin")


def test_limits_are_tuned_by_name_and_refuse_nonsense() -> None:
    assert Limits.with_overrides({"walkins_per_phone_per_day": 3}).walkins_per_phone_per_day == 3
    with pytest.raises(ValueError, match="неизвестные"):
        Limits.with_overrides({"walkins": 3})
    with pytest.raises(ValueError, match="от 1"):
        Limits.with_overrides({"login_free": 0})


@pytest.fixture
def two_servers(fresh_db: Database) -> Iterator[tuple[Session, Session]]:
    """Two sessions on two engines: what two web servers of one deployment have."""
    engines = [make_engine(fresh_db.url) for _ in range(2)]
    sessions = [make_sessionmaker(engine)() for engine in engines]
    yield sessions[0], sessions[1]
    for session, engine in zip(sessions, engines, strict=True):
        session.close()
        engine.dispose()


def test_growing_waits_are_counted_together_by_two_servers(
    two_servers: tuple[Session, Session],
) -> None:
    first, second = two_servers
    key = throttle_key("login", "operator")
    start = utcnow()
    with time_machine.travel(start, tick=False):
        for session in (first, second, first):
            throttle_check(session=session, key=key, backoff=BACKOFF, message="{seconds}")
            throttle_fail(session=session, key=key, backoff=BACKOFF)
        with pytest.raises(TooManyAttempts, match="^2$"):
            throttle_check(session=second, key=key, backoff=BACKOFF, message="{seconds}")
    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        throttle_check(session=second, key=key, backoff=BACKOFF, message="{seconds}")
        assert throttle_fail(session=second, key=key, backoff=BACKOFF) == 4
        with pytest.raises(TooManyAttempts, match="^4$"):
            throttle_check(session=first, key=key, backoff=BACKOFF, message="{seconds}")
    # Failures older than the memory are forgotten; a correct password forgets at once.
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        assert throttle_fail(session=first, key=key, backoff=BACKOFF) == 1
    throttle_clear(session=second, key=key)
    throttle_check(session=first, key=key, backoff=BACKOFF, message="{seconds}")


def test_kiosk_look_ups_and_pairing_are_counted_together_by_two_servers(
    two_servers: tuple[Session, Session],
) -> None:
    first, second = two_servers
    device, _token = make_device(first, DeviceKind.KIOSK)
    limits = Limits(kiosk_lookups_per_10_min=4, pairing_address_free=2)
    now = utcnow()
    for session in (first, second, first, second):
        kiosk_lookup_hit(session=session, device_id=device.id or 0, limits=limits, now=now)
    with pytest.raises(TooManyAttempts, match="Слишком много поисков записи"):
        kiosk_lookup_hit(session=first, device_id=device.id or 0, limits=limits, now=now)
    for session in (first, second):
        pairing_attempt_check(session=session, address="198.51.100.4", limits=limits, now=now)
        pairing_failed(session=session, address="198.51.100.4", limits=limits, now=now)
    with pytest.raises(TooManyAttempts, match="Подождите 5 с"):
        pairing_attempt_check(session=first, address="198.51.100.4", limits=limits, now=now)
    # Another address is not held up by this one.
    pairing_attempt_check(session=second, address="198.51.100.5", limits=limits, now=now)


def test_pairing_attempts_from_everywhere_have_a_cap(session: Session) -> None:
    limits = Limits(pairing_attempts_per_10_min=3)
    now = utcnow()
    for i in range(3):
        pairing_attempt_check(session=session, address=f"10.9.0.{i}", limits=limits, now=now)
    with pytest.raises(TooManyAttempts, match="слишком много попыток привязки"):
        pairing_attempt_check(session=session, address="10.9.0.99", limits=limits, now=now)


def _walkin(session: Session, calendar: WorkCalendar, **overrides: Any) -> object:
    values: dict[str, Any] = {
        "session": session,
        "calendar": calendar,
        "service_id": service_by_code(session, "consultation").id,
        "phone": "+79135554433",
        "surname": "Сергеева",
        "first_name": "Ольга",
        "patronymic": "Ивановна",
        "consent": True,
        "device_id": 0,
        "submit_key": "",
        "now": next_working_moment(calendar, hour=10, minute=2),
    }
    values.update(overrides)
    return walkin_book(**values)


def test_walk_ins_are_capped_per_phone_and_per_kiosk_a_day(
    session: Session, calendar: WorkCalendar
) -> None:
    kiosk, _token = make_device(session, DeviceKind.KIOSK)
    other, _token = make_device(session, DeviceKind.KIOSK)
    limits = Limits(walkins_per_phone_per_day=2, walkins_per_kiosk_per_day=3)
    args = {"device_id": kiosk.id, "limits": limits}
    _walkin(session, calendar, submit_key="a", **args)
    # A second tap of the same press is not a second walk-in.
    _walkin(session, calendar, submit_key="a", **args)
    _walkin(session, calendar, submit_key="b", **args)
    with pytest.raises(TooManyAttempts, match="На этот номер сегодня уже записаны"):
        _walkin(session, calendar, submit_key="c", **args)
    _walkin(session, calendar, submit_key="d", phone="+79135554400", **args)
    with pytest.raises(TooManyAttempts, match="С этого терминала сегодня записано много"):
        _walkin(session, calendar, submit_key="e", phone="+79135554411", **args)
    # Another kiosk has its own count; the next day starts afresh.
    _walkin(session, calendar, submit_key="f", phone="+79135554411", device_id=other.id)
    tomorrow = next_working_moment(calendar, days_ahead=2, hour=10, minute=2)
    _walkin(session, calendar, submit_key="g", phone="+79135554422", now=tomorrow, **args)


def test_two_app_instances_make_a_login_wait_together(
    fresh_db: Database, office_config: OfficeConfig, tmp_path: Any, monkeypatch: Any
) -> None:
    """Wrong passwords on one server make the same login wait on the other."""
    from visits.web import create_app

    monkeypatch.setenv("PRIYOM_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PRIYOM_PUSH_BUS", "memory")
    apps: list[Flask] = [
        create_app(
            config=office_config, database=fresh_db.url, demo=False, settings={"TESTING": True}
        )
        for _ in range(2)
    ]
    clients = [app.test_client() for app in apps]
    start = utcnow()
    with time_machine.travel(start, tick=False):
        for i in range(5):
            client = clients[i % 2]
            client.post(
                "/login",
                data={"login": "operator", "password": "wrong", "csrf_token": csrf_of(client)},
            )
        client = clients[1]
        answer = client.post(
            "/login",
            data={"login": "operator", "password": TEST_PASSWORD, "csrf_token": csrf_of(client)},
        )
    assert answer.status_code == 401
    assert "Подождите 2 с" in answer.get_data(as_text=True)
    for app in apps:
        app.extensions["priyom_engine"].dispose()


def test_walk_ins_in_a_burst_at_one_kiosk_wait(session: Session, calendar: WorkCalendar) -> None:
    kiosk, _token = make_device(session, DeviceKind.KIOSK)
    limits = Limits(walkins_per_kiosk_per_10_min=2)
    now = next_working_moment(calendar, hour=10, minute=2)
    args = {"device_id": kiosk.id, "limits": limits, "now": now}
    _walkin(session, calendar, submit_key="a", phone="+79135554401", **args)
    _walkin(session, calendar, submit_key="b", phone="+79135554402", **args)
    with pytest.raises(TooManyAttempts, match="записано много посетителей подряд"):
        _walkin(session, calendar, submit_key="c", phone="+79135554403", **args)
    later = {**args, "now": now + timedelta(minutes=11)}
    _walkin(session, calendar, submit_key="d", phone="+79135554403", **later)


def test_stale_counters_and_waits_are_purged(session: Session) -> None:
    now = utcnow()
    old = now - timedelta(days=3)
    for i in range(3):
        throttle_fail(
            session=session, key=throttle_key("login", f"made-up-{i}"), backoff=BACKOFF, now=old
        )
    throttle_fail(session=session, key=throttle_key("login", "fresh"), backoff=BACKOFF, now=now)
    kiosk_lookup_hit(session=session, device_id=2, now=old)  # a kiosk long gone
    kiosk_lookup_hit(session=session, device_id=1, now=now)
    assert limits_purge(session=session, now=now) == 4
    assert session.exec(select(Throttle)).all()[0].key == throttle_key("login", "fresh")
    assert len(session.exec(select(RateLimitHit)).all()) == 1


def test_a_new_window_drops_the_keys_older_ones_and_counts_from_one(session: Session) -> None:
    now = utcnow()
    for _ in range(3):
        kiosk_lookup_hit(session=session, device_id=1, now=now - timedelta(minutes=20))
    kiosk_lookup_hit(session=session, device_id=2, now=now - timedelta(minutes=20))
    kiosk_lookup_hit(session=session, device_id=1, now=now)
    kiosk_lookup_hit(session=session, device_id=1, now=now)
    rows = {(r.key, r.count) for r in session.exec(select(RateLimitHit)).all()}
    # Kiosk 1's old window went when its new one started; kiosk 2's is its own.
    assert rows == {("kiosk-lookup:1", 2), ("kiosk-lookup:2", 1)}
