"""The built-in programs a marketer starts from (``leadshelf programs from-template NAME``, the
console's "New from template"): YAML files beside this module, in the same format as
``leadshelf programs export`` writes, so they read as examples too."""

from __future__ import annotations

from importlib import resources

from content.words import N_
from nurture.programs.definition import Definition, from_yaml

TEMPLATES = {
    "welcome": N_("The welcome sequence: 4 mails over two weeks for new subscribers, stage-aware"),
    "stage-tracks": N_("One track per journey stage; reaching the next stage moves the lead on"),
    "webinar-follow-up": N_("After a webinar: attendees get the next step, no-shows the recording"),
    "re-engagement": N_("Leads quiet for 60 days, and leads sales sent back (recycled)"),
}


def template_text(name: str) -> str:
    if name not in TEMPLATES:
        raise LookupError(f"no template {name!r} (templates: {', '.join(TEMPLATES)})")
    return resources.files(__package__).joinpath("builtin", f"{name}.yaml").read_text("utf-8")


def template(name: str) -> list[Definition]:
    """The programs a template creates (stage-tracks and the follow-ups make several)."""
    return [definition for definition, _status in from_yaml(template_text(name))]
