"""The console's words for the domain vocabulary: lifecycle steps, lead categories, channels,
roles, profile fields, sort orders and the statuses of mail, consent and suppressions, each in
the staff member's language (``portal.i18n``).

The English of each is what the console always showed (``mql``, ``two touch``), so pages read
the same in English; a value these tables do not know is shown as it is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from babel import dates as babel_dates

from content.words import Said
from portal import i18n
from portal.i18n import gettext, pgettext


def say(said: Said | str) -> str:
    """A domain package's marked text in the current language, its values that are marked
    texts themselves (a field's label in a message about it) translated too."""
    if isinstance(said, str):
        return gettext(said)
    values = {
        name: say(value) if isinstance(value, Said) else value
        for name, value in said.values.items()
    }
    return gettext(said.text, **values)


def day_label(day: date) -> str:
    """A day on a chart's axis, without the year ("5 Dec", "5. Dez.")."""
    return babel_dates.format_skeleton("MMMd", day, locale=i18n.locale())


def format_day(day: date | None, format: str = "medium") -> str:
    """A calendar day (no time, no zone) as the reader writes it ("5 Dec 2026", "05.12.2026");
    "full" adds the weekday ("Saturday, 5 December 2026")."""
    if day is None:
        return ""
    return babel_dates.format_date(day, format=format, locale=i18n.locale())


def lifecycle_label(value: str) -> str:
    """A lifecycle step (``mql`` → "MQL" in German)."""
    words = {
        "subscriber": pgettext("lifecycle", "subscriber"),
        "lead": pgettext("lifecycle", "lead"),
        "mql": pgettext("lifecycle", "mql"),
        "sql": pgettext("lifecycle", "sql"),
        "opportunity": pgettext("lifecycle", "opportunity"),
        "customer": pgettext("lifecycle", "customer"),
        "recycled": pgettext("lifecycle", "recycled"),
    }
    return words.get(value, value)


def category_label(value: str) -> str:
    """A step of the lead category ladder (``two_touch`` → "two touch")."""
    words = {
        "known": pgettext("category", "known"),
        "two_touch": pgettext("category", "two touch"),
        "profiling_question": pgettext("category", "profiling question"),
        "qualified_question": pgettext("category", "qualified question"),
        "bant": pgettext("category", "bant"),
    }
    return words.get(value, value.replace("_", " "))


def channel_label(value: str) -> str:
    """The kind of way a visit arrived (``tracking.sources.arrivals.Channel``)."""
    words = {
        "search": pgettext("channel", "search"),
        "social": pgettext("channel", "social"),
        "email": pgettext("channel", "email"),
        "referral": pgettext("channel", "referral"),
        "paid": pgettext("channel", "paid"),
        "direct": pgettext("channel", "direct"),
    }
    return words.get(value, value)


def role_label(value: str) -> str:
    """A staff role (``editor`` → "Redaktion")."""
    words = {
        "admin": pgettext("role", "admin"),
        "editor": pgettext("role", "editor"),
        "marketer": pgettext("role", "marketer"),
    }
    return words.get(str(value), str(value))


def field_label(value: str) -> str:
    """A profile field as a column or row heading (``company_size`` → "company size")."""
    words = {
        "email": pgettext("field", "email"),
        "first_name": pgettext("field", "first name"),
        "last_name": pgettext("field", "last name"),
        "company": pgettext("field", "company"),
        "job_title": pgettext("field", "job title"),
        "country": pgettext("field", "country"),
        "phone": pgettext("field", "phone"),
        "industry": pgettext("field", "industry"),
        "company_size": pgettext("field", "company size"),
        "budget": pgettext("field", "budget"),
        "authority": pgettext("field", "authority"),
        "need": pgettext("field", "need"),
        "timeframe": pgettext("field", "timeframe"),
        "project": pgettext("field", "project"),
    }
    return words.get(value, value.replace("_", " "))


def event_label(value: str) -> str:
    """What a visitor did (``tracking.events``): "search", "webinar attend"."""
    words = {
        "page_view": pgettext("event", "page view"),
        "asset_view": pgettext("event", "asset view"),
        "read_progress": pgettext("event", "read progress"),
        "download": pgettext("event", "download"),
        "search": pgettext("event", "search"),
        "gate_view": pgettext("event", "gate view"),
        "form_submit": pgettext("event", "form submit"),
        "unlock": pgettext("event", "unlock"),
        "webinar_register": pgettext("event", "webinar register"),
        "webinar_attend": pgettext("event", "webinar attend"),
        "cta_click": pgettext("event", "cta click"),
        "email_click": pgettext("event", "email click"),
        "email_open": pgettext("event", "email open"),
        "demo_request": pgettext("event", "demo request"),
    }
    return words.get(value, value.replace("_", " "))


def change_label(value: str) -> str:
    """What a lead change log entry changed (``stage``, ``unsubscribed``, ``merged`` …)."""
    words = {
        "stage": pgettext("change", "stage"),
        "lifecycle": pgettext("change", "lifecycle"),
        "grade": pgettext("change", "grade"),
        "category": pgettext("change", "category"),
        "milestone": pgettext("change", "milestone"),
        "identified": pgettext("change", "identified"),
        "unlocked": pgettext("change", "unlocked"),
        "demo": pgettext("change", "demo"),
        "merged": pgettext("change", "merged"),
        "deal": pgettext("change", "deal"),
        "subscribed": pgettext("change", "subscribed"),
        "unsubscribed": pgettext("change", "unsubscribed"),
        "email_bounced": pgettext("change", "email bounced"),
        "sales_notified": pgettext("change", "sales notified"),
    }
    return words.get(value, value.replace("_", " "))


def change_value(kind: str, value: str | None) -> str:
    """A value in the change log, in words where it is a lifecycle step or a category (a
    stage, a grade or a milestone stays as the model names it)."""
    if not value:
        return "\u2013"  # an en dash: nothing
    if kind == "lifecycle":
        return lifecycle_label(value)
    if kind == "category":
        return category_label(value)
    return value


def sort_label(value: str) -> str:
    """An order of the lead list (``tracking.reporting.leadlist.Sort``)."""
    words = {
        "last_activity": pgettext("sort", "last activity"),
        "created": pgettext("sort", "created"),
        "fit": pgettext("sort", "fit"),
        "engagement": pgettext("sort", "engagement"),
        "email": pgettext("sort", "email"),
        "name": pgettext("sort", "name"),
        "company": pgettext("sort", "company"),
    }
    return words.get(value, value.replace("_", " "))


def mail_status_label(value: str) -> str:
    """Where a message in the outbox stands."""
    words = {
        "pending": pgettext("mail", "pending"),
        "sending": pgettext("mail", "sending"),
        "sent": pgettext("mail", "sent"),
        "bounced": pgettext("mail", "bounced"),
        "failed": pgettext("mail", "failed"),
        "skipped": pgettext("mail", "skipped"),
    }
    return words.get(value, value)


def mail_category_label(value: str) -> str:
    """Transactional or marketing mail."""
    words = {
        "transactional": pgettext("mail", "transactional"),
        "marketing": pgettext("mail", "marketing"),
    }
    return words.get(value, value)


def suppression_label(value: str, capitalized: bool = False) -> str:
    """Why an address is on the suppression list ("hard bounce"; "Hard bounce" to begin a
    cell of its own)."""
    if capitalized:
        words = {
            "hard_bounce": gettext("Hard bounce"),
            "complaint": gettext("Complaint"),
            "unsubscribed": gettext("Unsubscribed"),
            "erased": gettext("Erased"),
        }
    else:
        words = {
            "hard_bounce": pgettext("suppression", "hard bounce"),
            "complaint": pgettext("suppression", "complaint"),
            "unsubscribed": pgettext("suppression", "unsubscribed"),
            "erased": pgettext("suppression", "erased"),
        }
    return words.get(value, value.replace("_", " "))


def consent_status_label(value: str) -> str:
    """Where a lead's marketing consent stands."""
    words = {
        "none": pgettext("consent", "none"),
        "pending": pgettext("consent", "pending (confirmation mail sent)"),
        "confirmed": pgettext("consent", "confirmed"),
        "withdrawn": pgettext("consent", "withdrawn"),
    }
    return words.get(value, value.replace("_", " "))


def export_heading(name: str) -> str:
    """A column of the leads CSV (``tracking.reporting.leadlist.EXPORT_HEADER``) titled for a
    spreadsheet reader: "Company size", "First visit: campaign"; its own name when unknown."""
    words = {
        "id": pgettext("column", "ID"),
        "email": pgettext("column", "Email"),
        "first_name": pgettext("column", "First name"),
        "last_name": pgettext("column", "Last name"),
        "company": pgettext("column", "Company"),
        "job_title": pgettext("column", "Job title"),
        "country": pgettext("column", "Country"),
        "phone": pgettext("column", "Phone"),
        "industry": pgettext("column", "Industry"),
        "company_size": pgettext("column", "Company size"),
        "budget": pgettext("column", "Budget"),
        "authority": pgettext("column", "Role in the decision"),
        "need": pgettext("column", "Need"),
        "timeframe": pgettext("column", "Timeframe"),
        "project": pgettext("column", "Project"),
        "journey_stage": pgettext("column", "Journey stage"),
        "stage_confidence": pgettext("column", "Stage confidence"),
        "fit_score": pgettext("column", "Fit score"),
        "engagement_score": pgettext("column", "Engagement score"),
        "grade": pgettext("column", "Grade"),
        "category": pgettext("column", "Category"),
        "lifecycle": pgettext("column", "Lifecycle"),
        "marketing_consent": pgettext("column", "Marketing consent"),
        "consent_status": pgettext("column", "Consent status"),
        "first_seen": pgettext("column", "First seen"),
        "last_activity": pgettext("column", "Last activity"),
    }
    if name in words:
        return words[name]
    side, _, field = name.partition("_")
    visit = {
        "at": pgettext("column", "time"),
        "channel": pgettext("column", "channel"),
        "source": pgettext("column", "source"),
        "medium": pgettext("column", "medium"),
        "campaign": pgettext("column", "campaign"),
        "term": pgettext("column", "term"),
        "content": pgettext("column", "content"),
        "referrer": pgettext("column", "referrer"),
        "click_id": pgettext("column", "click ID"),
        "landing": pgettext("column", "landing page"),
    }
    if field in visit and side == "first":
        return gettext("First visit: %(field)s", field=visit[field])
    if field in visit and side == "latest":
        return gettext("Latest visit: %(field)s", field=visit[field])
    return name


def consent_record_label(value: str) -> str:
    """Where one consent record stands (``single_opt_in`` for records older than double opt-in)."""
    words = {
        "pending": pgettext("consent record", "pending"),
        "confirmed": pgettext("consent record", "confirmed"),
        "withdrawn": pgettext("consent record", "withdrawn"),
        "single_opt_in": pgettext("consent record", "single opt-in"),
    }
    return words.get(value, value.replace("_", " "))


def template_helpers() -> dict[str, Callable[..., Any]]:
    """The labels above, for every template (the console's and the partials it renders)."""
    return {
        "tell": say,
        "day_label": day_label,
        "format_day": format_day,
        "lifecycle_label": lifecycle_label,
        "category_label": category_label,
        "change_label": change_label,
        "change_value": change_value,
        "event_label": event_label,
        "channel_label": channel_label,
        "role_label": role_label,
        "field_label": field_label,
        "sort_label": sort_label,
        "mail_status_label": mail_status_label,
        "mail_category_label": mail_category_label,
        "suppression_label": suppression_label,
        "consent_status_label": consent_status_label,
        "consent_record_label": consent_record_label,
    }
