"""Staff accounts: passwords, login with growing waits, sessions with idle and absolute expiry."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Update, bindparam, update
from sqlmodel import Session, col, select

from visits.calendar import utcnow
from visits.db import orm_synced, write_transaction
from visits.errors import InvalidInput, NotFound
from visits.models import Staff, StaffSession
from visits.queries.security import LOGIN_BURST_ACTION
from visits.services.history import audit_record
from visits.services.ratelimit import (
    DEFAULT_LIMITS,
    Limits,
    throttle_check,
    throttle_clear,
    throttle_fail,
    throttle_key,
)

log = logging.getLogger(__name__)

IDLE_TIMEOUT = timedelta(minutes=30)
# A working day: the default absolute lifetime of a login (PRIYOM_SESSION_HOURS).
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
# One password hashed or checked at a time in a process: each takes argon2's memory
# cost (64 MiB) for its tens of milliseconds, and staff logging in at the start of a
# day would stack them (three at once: 192 MiB). Its own lanes already keep the cores busy.
_argon2_turn = threading.Lock()
# Verified against when the login is unknown, so timing does not reveal which logins exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def token_hash(token: str) -> str:
    """Hash a bearer token (session, device) for storage: only hashes live in the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def staff_set_password(*, session: Session, login: str, password: str) -> Staff:
    """Set a staff member's password (argon2) and unlock the account."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Пароль должен быть не короче {MIN_PASSWORD_LENGTH} символов.", field="password"
        )
    with write_transaction(session):
        staff = session.exec(select(Staff).where(Staff.login == login)).first()
        if staff is None:
            raise NotFound(f"Сотрудника с логином {login} нет в настройках офиса.")
        with _argon2_turn:
            staff.password_hash = _hasher.hash(password)
        staff.failed_logins = 0
        staff.locked_until = None
        session.add(staff)
    return staff


@dataclass(frozen=True)
class LoginResult:
    staff: Staff
    session_token: str
    csrf_token: str


LOGIN_WAIT = "Слишком много неудачных попыток входа. Подождите {seconds} с и попробуйте снова."


def staff_login(
    *,
    session: Session,
    login: str,
    password: str,
    address: str = "",
    limits: Limits = DEFAULT_LIMITS,
) -> LoginResult:
    """Check a password; failures make the login and the address wait, never lock the account.

    The waits grow with each failure and end by themselves (Limits), so nobody can
    shut a colleague out for long by typing wrong passwords with her login. Unknown
    and known logins get the same answers and the same waits. A burst of failures
    is written to the audit log for the administrators (login_alerts_recent).
    """
    bad = InvalidInput("Неверный логин или пароль.", code="bad_credentials")
    name = login.strip().lower()
    account_key = throttle_key("login", name)
    address_key = throttle_key("login-addr", address or "unknown")
    for key, backoff in ((account_key, limits.login_account), (address_key, limits.login_address)):
        throttle_check(session=session, key=key, backoff=backoff, message=LOGIN_WAIT)
    staff = session.exec(select(Staff).where(Staff.login == name)).first()
    stored = staff.password_hash if staff is not None and staff.active else None
    # An unknown login is checked against a dummy hash: the same time as a known one.
    if not _verify(stored or _DUMMY_HASH, password) or stored is None:
        _login_failed(session, name, address, account_key, address_key, limits)
        raise bad
    assert staff is not None and staff.id is not None
    throttle_clear(session=session, key=account_key)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    with write_transaction(session):
        session.add(StaffSession(token_hash=token_hash(token), staff_id=staff.id, csrf_token=csrf))
    log.info("login: %s", staff.login)
    return LoginResult(staff=staff, session_token=token, csrf_token=csrf)


def _login_failed(
    session: Session, name: str, address: str, account_key: str, address_key: str, limits: Limits
) -> None:
    """Count the failure for the login and the address; tell the administrators of a burst."""
    log.info("login failed from %s", address or "unknown address")
    by_login = throttle_fail(session=session, key=account_key, backoff=limits.login_account)
    by_address = throttle_fail(session=session, key=address_key, backoff=limits.login_address)
    if limits.login_burst not in (by_login, by_address):
        return  # told once per burst, when it reaches the threshold
    shown = name[:32].encode("ascii", "replace").decode()
    details = (
        f"Много неудачных попыток входа: {by_login} под логином «{shown}», "
        f"{by_address} с адреса {address[:45] or 'неизвестно'} за {limits.login_memory_minutes} мин."
    )
    with write_transaction(session):
        audit_record(session, staff=None, action=LOGIN_BURST_ACTION, details=details)
    log.warning("login burst: %s", details)


def _verify(password_hash: str, password: str) -> bool:
    try:
        with _argon2_turn:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Built once: every staff request resumes its login with it, the staff member and the
# login's times in one read (two statements, built anew on every request, before).
_RESUME = (
    select(
        Staff, col(StaffSession.id), col(StaffSession.created_at), col(StaffSession.last_seen_at)
    )
    .join(StaffSession, col(StaffSession.staff_id) == col(Staff.id))
    .where(
        col(StaffSession.token_hash) == bindparam("resume_token_hash"),
        col(StaffSession.ended_at).is_(None),
    )
)
_SESSION_ENDED = (
    update(StaffSession)
    .where(col(StaffSession.id) == bindparam("resume_session_id"))
    .values(ended_at=bindparam("resume_at"))
)
_SESSION_SEEN = (
    update(StaffSession)
    .where(col(StaffSession.id) == bindparam("resume_session_id"))
    .values(last_seen_at=bindparam("resume_at"))
)


def staff_session_resume(
    *, session: Session, token: str, lifetime: timedelta = SESSION_LIFETIME
) -> Staff | None:
    """Return the staff member of a cookie token, or None if ended, idle, too old or inactive.

    `lifetime` is absolute: a session used all the time still ends a working day
    after the login (a stolen cookie does not live for ever).
    """
    found = session.execute(_RESUME, {"resume_token_hash": token_hash(token)}).first()
    if found is None:
        return None
    staff, session_id, created_at, last_seen_at = found
    now = utcnow()
    if now - last_seen_at > IDLE_TIMEOUT or now - created_at > lifetime:
        _session_write(session, _SESSION_ENDED, session_id, ended_at=now)
        return None
    if not staff.active:
        return None
    if now - last_seen_at > timedelta(minutes=1):
        # Touch at most once a minute: no write on every request.
        _session_write(session, _SESSION_SEEN, session_id, last_seen_at=now)
    resumed: Staff = staff
    return resumed


def _session_write(
    session: Session, statement: Update, session_id: int, **column: datetime
) -> None:
    """Write a login's one time column (`statement`, built once); a loaded copy gets it too."""
    (moment,) = column.values()
    with write_transaction(session):
        session.connection().execute(
            statement, {"resume_session_id": session_id, "resume_at": moment}
        )
    orm_synced(session, StaffSession, session_id, **column)


def staff_logout(*, session: Session, token: str) -> None:
    with write_transaction(session):
        row = session.exec(
            select(StaffSession).where(StaffSession.token_hash == token_hash(token))
        ).first()
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            session.add(row)
