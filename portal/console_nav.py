"""The console's sections and which roles may use each: one list for the menu and the guards."""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.models import Role

ALL_ROLES = frozenset(Role)


@dataclass(frozen=True, slots=True)
class Section:
    """One entry of the console menu; its guard is built from the same roles."""

    label: str
    url: str
    roles: frozenset[Role]
    description: str


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    url: str
    description: str
    active: bool


OVERVIEW = Section("Overview", "/console", ALL_ROLES, "Your starting point in the console.")
STAFF = Section(
    "Staff & API tokens",
    "/console/staff",
    frozenset({Role.ADMIN}),
    "Who can sign in, with which role, and which integrations hold API tokens.",
)

SECTIONS: tuple[Section, ...] = (OVERVIEW, STAFF)


def nav_for(role: Role, current_path: str) -> list[NavLink]:
    """The menu a role sees: only the sections it may open, the current one marked."""
    return [
        NavLink(s.label, s.url, s.description, active=current_path.rstrip("/") == s.url)
        for s in SECTIONS
        if role in s.roles
    ]
