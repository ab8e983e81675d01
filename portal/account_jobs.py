"""The account job and backfill: keep the account rows (``tracking.accounts.refresh``) current
under the model's half-life, stages and engagement bands."""

from __future__ import annotations

from portal.db import Database
from tracking.accounts.account_score import AccountRules
from tracking.accounts.refresh import Keeper, backfill_all
from tracking.rules.config import Model

EVERY = 30.0
"""Seconds between passes of the ``account-figures`` job."""


def account_rules(model: Model) -> AccountRules:
    """The parts of the model an account's figures follow: each person counts up to the
    model's high engagement band (``tracking.accounts.account_score``)."""
    return AccountRules(
        half_life_days=model.scoring.half_life_days,
        stages=tuple(model.stages),
        person_cap=model.scoring.engagement_bands[0],
    )


def keep_accounts(database: Database, model: Model, keeper: Keeper) -> str | None:
    """One pass of the ``account-figures`` job: what it did, or None when nothing changed."""
    written = keeper.run(database.write, account_rules(model), read=database.read)
    return f"{written} account(s) recomputed" if written else None


def backfill(database: Database, model: Model) -> tuple[int, int]:
    """Every lead in its account and every account recomputed: (leads in an account,
    accounts)."""
    return backfill_all(database.write, account_rules(model))
