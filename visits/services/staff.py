"""Staff accounts: passwords, login with lockout, sessions with idle expiry."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from visits.calendar import utcnow
from visits.db import write_transaction
from visits.errors import InvalidInput, NotFound, TooManyAttempts
from visits.models import Staff, StaffSession

log = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
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


def staff_login(*, session: Session, login: str, password: str) -> LoginResult:
    """Check a password; five failures lock the account for 15 minutes."""
    bad = InvalidInput("Неверный логин или пароль.", code="bad_credentials")
    with write_transaction(session):
        staff = session.exec(select(Staff).where(Staff.login == login.strip().lower())).first()
        if staff is None or not staff.active or staff.password_hash is None:
            _verify(_DUMMY_HASH, password)
            log.info("login failed: unknown or inactive login")
            raise bad
        now = utcnow()
        if staff.locked_until is not None and staff.locked_until > now:
            minutes = max(1, int((staff.locked_until - now).total_seconds() // 60) + 1)
            raise TooManyAttempts(
                f"Вход заблокирован после {MAX_FAILED_LOGINS} неудачных попыток. "
                f"Попробуйте через {minutes} мин. или обратитесь к администратору."
            )
        if not _verify(staff.password_hash, password):
            staff.failed_logins += 1
            if staff.failed_logins >= MAX_FAILED_LOGINS:
                staff.locked_until = now + LOCKOUT
                staff.failed_logins = 0
                log.warning("login: account %s locked for 15 minutes", staff.login)
            session.add(staff)
            # Commit the counter, then refuse: the failure must be remembered.
            session.commit()
            raise bad
        staff.failed_logins = 0
        staff.locked_until = None
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        assert staff.id is not None
        session.add(StaffSession(token_hash=token_hash(token), staff_id=staff.id, csrf_token=csrf))
        session.add(staff)
    log.info("login: %s", staff.login)
    return LoginResult(staff=staff, session_token=token, csrf_token=csrf)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def staff_session_resume(*, session: Session, token: str) -> tuple[Staff, StaffSession] | None:
    """Return the staff and session for a cookie token, or None if ended or idle too long."""
    row = session.exec(
        select(StaffSession).where(
            StaffSession.token_hash == token_hash(token), col(StaffSession.ended_at).is_(None)
        )
    ).first()
    if row is None:
        return None
    now = utcnow()
    if now - row.last_seen_at > IDLE_TIMEOUT:
        with write_transaction(session):
            row.ended_at = now
            session.add(row)
        return None
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        # Touch at most once a minute: no write on every request.
        with write_transaction(session):
            row.last_seen_at = now
            session.add(row)
    return staff, row


def staff_logout(*, session: Session, token: str) -> None:
    with write_transaction(session):
        row = session.exec(
            select(StaffSession).where(StaffSession.token_hash == token_hash(token))
        ).first()
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            session.add(row)
