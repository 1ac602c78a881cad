"""The administrator's view of the devices: kiosks, displays, tablets and their printers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import Device, DeviceKind, PrintJob, PrintJobStatus, Room

KIND_LABELS = {
    DeviceKind.KIOSK.value: "Терминал в холле",
    DeviceKind.DISPLAY.value: "Табло",
    DeviceKind.TABLET.value: "Планшет оценки",
}
# A device that has not called in for this long is shown as silent.
SILENT_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class DeviceRow:
    id: int
    kind: str
    kind_label: str
    name: str
    place: str  # the room of a tablet, the spot of a display, the printer of a kiosk
    paired: bool
    pairing_pending: bool
    last_seen_at: datetime | None
    silent: bool
    printer_error: str
    printer_error_at: datetime | None
    jobs_waiting: int  # pending or failed print jobs of today
    printer_paper: str = ""  # the roll sensor's last answer: ok, near_end, out, ""
    printer_confirms: bool = True  # False: jobs are sent, not confirmed
    printer_paper_mm: int = 80
    printer_width_chars: int = 42


def devices_overview(
    session: Session, calendar: WorkCalendar, *, now: datetime | None = None
) -> list[DeviceRow]:
    """Every active device with its last contact and, for kiosks, the printer's state."""
    now = now or utcnow()
    config = calendar.config
    devices = session.exec(
        select(Device).where(col(Device.active).is_(True)).order_by(Device.kind, Device.name)
    ).all()
    rooms = {r.id: r for r in session.exec(select(Room)).all()}
    day_start = calendar.at(calendar.to_local(now).date(), datetime.min.time())
    waiting = Counter(
        session.exec(
            select(PrintJob.device_id).where(
                col(PrintJob.status).in_([PrintJobStatus.PENDING, PrintJobStatus.FAILED]),
                col(PrintJob.created_at) >= day_start,
            )
        ).all()
    )
    rows = []
    for device in devices:
        assert device.id is not None
        if device.kind == DeviceKind.TABLET and device.room_id in rooms:
            place = rooms[device.room_id].place
        elif device.kind == DeviceKind.DISPLAY:
            spot = config.spot(device.spot_key or "")
            place = spot.name if spot else (device.spot_key or "")
        elif device.kind == DeviceKind.KIOSK:
            place = (
                f"Принтер {device.printer_profile}, {device.printer_paper_mm} мм, "
                f"{device.printer_width_chars} зн.: {device.printer_uri or 'виртуальный'}"
            )
        else:
            place = ""
        rows.append(
            DeviceRow(
                id=device.id,
                kind=device.kind,
                kind_label=KIND_LABELS.get(device.kind, device.kind),
                name=device.name,
                place=place,
                paired=device.token_hash is not None,
                pairing_pending=device.pairing_code_hash is not None,
                last_seen_at=device.last_seen_at,
                silent=device.last_seen_at is None or now - device.last_seen_at > SILENT_AFTER,
                printer_error=device.printer_error,
                printer_error_at=device.printer_error_at,
                jobs_waiting=waiting.get(device.id, 0),
                printer_paper=device.printer_paper,
                printer_confirms=device.printer_confirms,
                printer_paper_mm=device.printer_paper_mm,
                printer_width_chars=device.printer_width_chars,
            )
        )
    return rows


@dataclass(frozen=True)
class PrinterAlert:
    device_id: int
    device_name: str
    error: str  # empty when only the paper is near its end
    since: datetime | None
    paper_near_end: bool = False


def printer_alerts(session: Session) -> list[PrinterAlert]:
    """Kiosk printers that failed their last job or check, or whose roll nears its end."""
    devices = session.exec(
        select(Device).where(
            Device.kind == DeviceKind.KIOSK.value,
            col(Device.active).is_(True),
            or_(Device.printer_error != "", Device.printer_paper == "near_end"),
        )
    ).all()
    return [
        PrinterAlert(
            d.id or 0,
            d.name,
            d.printer_error,
            d.printer_error_at if d.printer_error else d.printer_paper_at,
            paper_near_end=d.printer_paper == "near_end",
        )
        for d in devices
    ]


def devices_active(session: Session) -> list[Device]:
    """Every registered device still in use (the demo start page links them)."""
    return list(
        session.exec(
            select(Device).where(col(Device.active).is_(True)).order_by(col(Device.id))
        ).all()
    )
