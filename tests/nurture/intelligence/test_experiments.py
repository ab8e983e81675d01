"""Gate experiments as a service on SQLite and PostgreSQL: start, end and apply with their
refusals, and the report's figures per arm on hand-built exposures, reading, unlocks, claims
and milestones (only what followed a browser's first sight, milestones within the window)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select

from content.models import Asset, AssetRevision
from content.orm import utcnow
from nurture.intelligence import experiments, experiments_report
from nurture.intelligence.experiments import Refused
from nurture.intelligence.models import GateExperiment, GateExposure
from nurture.intelligence.rules import Arm
from portal.db import Database
from portal.migrate import alembic_config
from tests.factories import make_asset
from tracking.models import AssetEngagement, FunnelMilestone, IdentityClaim, Lead, Unlock, Visitor


def test_start_end_and_apply_with_their_refusals(db: Database) -> None:
    guide = make_asset(db, title="Guide", gate="gated")
    opened = make_asset(db, title="Open one", gate="open")
    now = utcnow()
    with db.write() as session:
        for share, days in ((4, 90), (96, 90), (50, 0), (50, 366)):
            with pytest.raises(Refused) as refused:
                experiments.start(session, guide.id, share, days, "ed@x", now)
            assert not refused.value.conflict
        with pytest.raises(Refused, match="is open"):
            experiments.start(session, opened.id, 50, 90, "ed@x", now)
        with pytest.raises(Refused, match="published"):
            experiments.start(session, 999_999, 50, 90, "ed@x", now)
        first = experiments.start(session, guide.id, 50, 90, "ed@x", now)
        assert (first.open_share, first.window_days, first.gate) == (0.5, 90, "gated")
        with pytest.raises(Refused, match="already runs") as refused:
            experiments.start(session, guide.id, 30, 90, "ed@x", now)
        assert refused.value.conflict
        assert [a for a, _, _ in experiments.testable_assets(session)] == []
    with db.write() as session:
        experiments.end(session, first.id, "ed@x", now)
        with pytest.raises(Refused, match="ended already"):
            experiments.end(session, first.id, "ed@x", now)
        # an ended experiment's winner may still be applied, once
        experiments.end(session, first.id, "ed@x", now, apply=Arm.OPEN)
        with pytest.raises(Refused, match="applied"):
            experiments.end(session, first.id, "ed@x", now, apply=Arm.GATED)
        asset = session.get(Asset, guide.id)
        assert asset is not None
        assert asset.gate == "open"
        changes = session.scalars(
            select(AssetRevision.changes).where(AssetRevision.asset_id == guide.id)
        ).all()
        assert {"gate": ["gated", "open"]} in changes


def test_applying_the_gate_keeps_the_gate_it_had(db: Database) -> None:
    soft = make_asset(db, title="Soft", gate="soft")
    with db.write() as session:
        started = experiments.start(session, soft.id, 50, 90, "ed@x", utcnow())
        experiments.end(session, started.id, "ed@x", utcnow(), apply=Arm.GATED)
        asset = session.get(Asset, soft.id)
        assert asset is not None
        assert asset.gate == "soft"
        assert session.get(GateExperiment, started.id).applied == "gated"  # type: ignore[union-attr]


def test_the_report_counts_what_followed_each_first_sight(db: Database) -> None:
    guide = make_asset(db, title="Guide", gate="gated")
    other = make_asset(db, title="Other", gate="gated")
    now = utcnow()
    started = now - timedelta(days=40)
    seen = started + timedelta(days=1)
    with db.write() as session:
        experiment = experiments.start(session, guide.id, 50, 30, "ed@x", started)
        experiment_id = experiment.id

        def browser(n: int, arm: Arm, *, lead: Lead | None = None) -> str:
            visitor = Visitor(id=f"v{n:031d}", lead_id=lead.id if lead else None)
            session.add(visitor)
            session.add(
                GateExposure(
                    experiment_id=experiment_id, visitor_id=visitor.id, arm=arm, first_at=seen
                )
            )
            return visitor.id

        def lead(n: int, created: object) -> Lead:
            person = Lead(email=f"l{n}@x.example", created_at=created)
            session.add(person)
            session.flush()
            return person

        # open arm: an anonymous engaged reader, a skimmer, a new lead that became MQL and SQL
        # in the window and an opportunity after it
        engaged = browser(1, Arm.OPEN)
        skimmer = browser(2, Arm.OPEN)
        newcomer = lead(3, seen + timedelta(hours=1))
        browser(3, Arm.OPEN, lead=newcomer)
        # gated arm: an older lead that sent the form and reached MQL (and an MQL before its
        # visit, which does not count), a claim, a browser that only looked
        old = lead(4, started - timedelta(days=100))
        browser(4, Arm.GATED, lead=old)
        claimer = browser(5, Arm.GATED)
        browser(6, Arm.GATED)
        session.flush()
        for visitor_id, lead_id, seconds in (
            (engaged, None, 300.0),
            (skimmer, None, 10.0),
            ("v" + "3".zfill(31), newcomer.id, 60.0),
        ):
            session.add(
                AssetEngagement(
                    visitor_id=visitor_id, asset_id=guide.id, lead_id=lead_id,
                    engaged_seconds=seconds, first_at=seen, last_at=seen,
                )
            )  # fmt: skip
        # reading another asset does not count
        session.add(
            AssetEngagement(
                visitor_id=claimer, asset_id=other.id, engaged_seconds=900.0,
                first_at=seen, last_at=seen,
            )
        )  # fmt: skip
        session.add(Unlock(lead_id=old.id, asset_id=guide.id, unlocked_at=seen))
        session.add(Unlock(lead_id=newcomer.id, asset_id=other.id, unlocked_at=seen))
        session.add(IdentityClaim(visitor_id=claimer, lead_id=old.id, asset_id=guide.id))
        for person, kind, at in (
            (newcomer, "mql", seen + timedelta(days=2)),
            (newcomer, "sql", seen + timedelta(days=29)),
            (newcomer, "opportunity", seen + timedelta(days=31)),
            (old, "mql", seen + timedelta(days=3)),
            (old, "sql", seen - timedelta(hours=1)),
        ):
            session.add(FunnelMilestone(lead_id=person.id, kind=kind, at=at))
    experiments_report.refresh(db.read, db.write, experiment_id, now)
    with db.read() as session:
        found = session.get(GateExperiment, experiment_id)
        assert found is not None
        report = experiments_report.report(session, found)
    assert report.exposed == {"open": 3, "gated": 3}
    assert report.arms["open"].readers == 3
    assert report.arms["open"].engaged_minutes == pytest.approx((300 + 10 + 60) / 60 / 3)
    assert report.arms["gated"].engaged_minutes == 0
    shares = {v.metric: (v.open.successes, v.gated.successes) for _, v in report.verdicts}
    assert shares == {
        "engaged": (2, 0),
        "submissions": (0, 2),
        "new_leads": (1, 0),
        "mql": (1, 1),
        "sql": (1, 0),
        "opportunity": (0, 0),
    }
    # a handful of readers: no verdict, whatever the difference
    assert all(v.winner is None for _, v in report.verdicts)


def test_the_job_keeps_running_and_recent_experiments_and_leaves_old_ones(db: Database) -> None:
    guide = make_asset(db, title="Guide", gate="gated")
    later = make_asset(db, title="Later", gate="gated")
    now = utcnow()
    with db.write() as session:
        old = experiments.start(session, guide.id, 50, 30, "ed@x", now - timedelta(days=200))
        experiments.end(session, old.id, "ed@x", now - timedelta(days=100))
        experiments.start(session, later.id, 50, 30, "ed@x", now)
    assert experiments_report.refresh_all(db.read, db.write, now) == "1 experiment(s)"
    with db.read() as session:
        running = experiments.running(session, later.id)
        assert running is not None
        assert experiments_report.report(session, running).computed_at is not None
        ended = session.get(GateExperiment, old.id)
        assert ended is not None
        assert experiments_report.report(session, ended).computed_at is None


def test_the_migration_goes_down_and_up_keeping_the_experiments(db: Database) -> None:
    guide = make_asset(db, title="Guide", gate="gated")
    with db.write() as session:
        started = experiments.start(session, guide.id, 50, 90, "ed@x", utcnow())
        experiments_report.store(session, started.id, experiments_report.tally([]), utcnow())
    config = alembic_config()
    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "e4a7c2b9d150-1")  # before the arms' figures
    try:
        assert "gate_arm_figures" not in inspect(db.engine).get_table_names()
        names = {index["name"] for index in inspect(db.engine).get_indexes("gate_exposure")}
        assert "ix_gate_exposure_arm" not in names
    finally:
        with db.write_connection() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    names = {index["name"] for index in inspect(db.engine).get_indexes("gate_exposure")}
    assert "ix_gate_exposure_arm" in names
    with db.read() as session:
        running = experiments.running(session, guide.id)
        assert running is not None
        assert experiments_report.report(session, running).computed_at is None
