"""The console's sections and which roles may use each: one list for the menu and the guards."""

from __future__ import annotations

from dataclasses import dataclass

from content.words import N_
from portal import i18n
from portal.accounts.models import Role

ALL_ROLES = frozenset(Role)


@dataclass(frozen=True, slots=True)
class Section:
    """One entry of the console menu; its guard is built from the same roles."""

    label: str
    """Marked for translation; the menu shows it in the staff member's language."""
    url: str
    roles: frozenset[Role]
    description: str


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    url: str
    description: str
    active: bool


OVERVIEW = Section(N_("Overview"), "/console", ALL_ROLES, N_("Your starting point in the console."))
STAFF = Section(
    N_("Staff & API tokens"),
    "/console/staff",
    frozenset({Role.ADMIN}),
    N_("Who can sign in, with which role, and which integrations hold API tokens."),
)

LIBRARY = Section(
    N_("Library"),
    "/console/assets",
    frozenset({Role.ADMIN, Role.EDITOR}),
    N_("Create, preview, publish and schedule assets; every change is kept as a revision."),
)

TAXONOMY = Section(
    N_("Topics & personas"),
    "/console/taxonomy",
    frozenset({Role.ADMIN, Role.EDITOR}),
    N_("The labels prospects see for topics and personas."),
)

WEBHOOKS = Section(
    N_("Webhooks"),
    "/console/webhooks",
    frozenset({Role.ADMIN}),
    N_("Endpoints your CRM or marketing automation listens on, and every delivery to them."),
)

PRIVACY_POLICY = Section(
    N_("Privacy policy"),
    "/console/privacy",
    frozenset({Role.ADMIN}),
    N_("The text of the privacy page every public form links to."),
)

SYSTEM = Section(
    N_("Background jobs"),
    "/console/system",
    frozenset({Role.ADMIN}),
    N_("What each background job did last, where it runs, and what is waiting for it."),
)

PEOPLE = frozenset({Role.ADMIN, Role.MARKETER})

DASHBOARD = Section(
    N_("Funnel dashboard"),
    "/console/dashboard",
    PEOPLE,
    N_("The funnel by stage and lifecycle, new leads, MQLs and SQLs, time in stage, top content."),
)
LEADS = Section(
    N_("Leads"),
    "/console/leads",
    PEOPLE,
    N_("Find, filter and export leads; open one for its profile, scores and engagement trail."),
)
ACCOUNTS = Section(
    N_("Accounts"),
    "/console/accounts",
    PEOPLE,
    N_("The companies leads belong to: their buying committee, engagement, stage and deals."),
)
HANDOFF = Section(
    N_("Sales handoff"),
    "/console/handoff",
    PEOPLE,
    N_("New MQLs and fast-lane leads waiting for sales: accept them or send them back."),
)
CONTENT_ANALYTICS = Section(
    N_("Content analytics"),
    "/console/analytics",
    frozenset({Role.ADMIN, Role.MARKETER, Role.EDITOR}),
    N_(
        "Per asset: views, readers, gate conversion, downloads, time, completion, leads influenced."
    ),
)
CONTENT_INTELLIGENCE = Section(
    N_("Content intelligence"),
    "/console/content-intelligence",
    frozenset({Role.ADMIN, Role.MARKETER, Role.EDITOR}),
    N_("Where the library has gaps: stages and topics without content, and where leads stall."),
)

EMAIL = Section(
    N_("Email"),
    "/console/email",
    PEOPLE,
    N_("The mail outbox in numbers, recent messages and bounces, and the suppression list."),
)

PROGRAMS = Section(
    N_("Programs"),
    "/console/programs",
    PEOPLE,
    N_("Nurture programs: welcome sequences, stage tracks and follow-ups, with A/B subject lines."),
)

KPIS = Section(
    N_("KPIs"),
    "/console/kpis",
    PEOPLE,
    N_("The figures marketing and sales agreed on, this period against the last and the goal."),
)
ATTRIBUTION = Section(
    N_("Attribution"),
    "/console/attribution",
    PEOPLE,
    N_("Which content, sources, campaigns and programs created leads, pipeline and revenue."),
)

SECTIONS: tuple[Section, ...] = (
    OVERVIEW,
    DASHBOARD,
    LEADS,
    ACCOUNTS,
    HANDOFF,
    CONTENT_ANALYTICS,
    CONTENT_INTELLIGENCE,
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
    return [
        NavLink(i18n.gettext(s.label), s.url, i18n.gettext(s.description), active=s is current)
        for s in visible
    ]
