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

LIBRARY = Section(
    "Library",
    "/console/assets",
    frozenset({Role.ADMIN, Role.EDITOR}),
    "Create, preview, publish and schedule assets; every change is kept as a revision.",
)

TAXONOMY = Section(
    "Topics & personas",
    "/console/taxonomy",
    frozenset({Role.ADMIN, Role.EDITOR}),
    "The labels prospects see for topics and personas.",
)

WEBHOOKS = Section(
    "Webhooks",
    "/console/webhooks",
    frozenset({Role.ADMIN}),
    "Endpoints your CRM or marketing automation listens on, and every delivery to them.",
)

PRIVACY_POLICY = Section(
    "Privacy policy",
    "/console/privacy",
    frozenset({Role.ADMIN}),
    "The text of the privacy page every public form links to.",
)

SYSTEM = Section(
    "Background jobs",
    "/console/system",
    frozenset({Role.ADMIN}),
    "What each background job did last, where it runs, and what is waiting for it.",
)

PEOPLE = frozenset({Role.ADMIN, Role.MARKETER})

DASHBOARD = Section(
    "Funnel dashboard",
    "/console/dashboard",
    PEOPLE,
    "The funnel by stage and lifecycle, new leads, MQLs and SQLs, time in stage, top content.",
)
LEADS = Section(
    "Leads",
    "/console/leads",
    PEOPLE,
    "Find, filter and export leads; open one for its profile, scores and engagement trail.",
)
ACCOUNTS = Section(
    "Accounts",
    "/console/accounts",
    PEOPLE,
    "The companies leads belong to: their buying committee, engagement, stage and deals.",
)
HANDOFF = Section(
    "Sales handoff",
    "/console/handoff",
    PEOPLE,
    "New MQLs and fast-lane leads waiting for sales: accept them or send them back.",
)
CONTENT_ANALYTICS = Section(
    "Content analytics",
    "/console/analytics",
    frozenset({Role.ADMIN, Role.MARKETER, Role.EDITOR}),
    "Per asset: views, readers, gate conversion, downloads, time, completion, leads influenced.",
)

EMAIL = Section(
    "Email",
    "/console/email",
    PEOPLE,
    "The mail outbox in numbers, recent messages and bounces, and the suppression list.",
)

PROGRAMS = Section(
    "Programs",
    "/console/programs",
    PEOPLE,
    "Nurture programs: welcome sequences, stage tracks and follow-ups, with A/B subject lines.",
)

KPIS = Section(
    "KPIs",
    "/console/kpis",
    PEOPLE,
    "The figures marketing and sales agreed on, this period against the last and the goal.",
)
ATTRIBUTION = Section(
    "Attribution",
    "/console/attribution",
    PEOPLE,
    "Which content, sources, campaigns and programs created leads, pipeline and revenue.",
)

SECTIONS: tuple[Section, ...] = (
    OVERVIEW,
    DASHBOARD,
    LEADS,
    ACCOUNTS,
    HANDOFF,
    CONTENT_ANALYTICS,
    EMAIL,
    PROGRAMS,
    KPIS,
    ATTRIBUTION,
    LIBRARY,
    TAXONOMY,
    STAFF,
    WEBHOOKS,
    PRIVACY_POLICY,
    SYSTEM,
)


def nav_for(role: Role, current_path: str) -> list[NavLink]:
    """The menu a role sees: only the sections it may open, the current one marked."""
    path = current_path.rstrip("/") or "/"
    visible = [s for s in SECTIONS if role in s.roles]
    # The deepest section whose URL prefixes the path is the current one (/console/assets/7).
    matches = [s for s in visible if path == s.url or path.startswith(s.url + "/")]
    current = max(matches, key=lambda s: len(s.url), default=None)
    return [NavLink(s.label, s.url, s.description, active=s is current) for s in visible]
