"""The staff panel's menu: each views module registers its own entries."""

from __future__ import annotations

from dataclasses import dataclass

from visits.models import Role, Staff


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: tuple[Role, ...]
    order: int


NAV: list[NavItem] = []


def nav_item(endpoint: str, label: str, *roles: Role, order: int = 50) -> None:
    """Add a menu entry for the given roles (all staff if none)."""
    NAV.append(NavItem(endpoint, label, roles, order))
    NAV.sort(key=lambda item: item.order)


def nav_for(staff: Staff | None) -> list[NavItem]:
    if staff is None:
        return []
    return [i for i in NAV if not i.roles or any(staff.has_role(r) for r in i.roles)]
