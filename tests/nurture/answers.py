"""Leads that answered the qualifying questions, as the sales handoff meets them: the answers
that make an MQL under the default model, those that take the sales fast lane, and a lead
who gave some answers at a given time and was evaluated then."""

from __future__ import annotations

from datetime import datetime

from portal.db import Database
from tracking.identity.facts import Source, record_facts
from tracking.identity.identify import get_or_create_lead
from tracking.pipeline import leadstate
from tracking.rules.config import Model

MODEL = Model()
# Decision-stage hints (timeframe 0-3m, budget approved) and fit 35: the MQL rule holds.
MQL_ANSWERS = {"budget": "approved", "timeframe": "0-3m"}
# Qualifying answers to all four BANT questions: the sales fast lane.
BANT_ANSWERS = {**MQL_ANSWERS, "authority": "decision_maker", "need": "Score leads in our CRM"}


def lead_answering(
    db: Database, email: str, answers: dict[str, str], at: datetime, name: str = ""
) -> int:
    """A lead who answered ``answers`` at ``at`` and was evaluated then."""
    with db.write() as session:
        lead, _ = get_or_create_lead(session, email, at)
        facts = dict(answers)
        if name:
            facts["first_name"], facts["last_name"] = name.split()
        record_facts(session, lead.id, facts, Source("form", "pricing"), at)
        leadstate.evaluate(session, lead, MODEL, at)
        return lead.id
