"""Fixtures of the program tests: ``drive`` runs the scheduler and the send job at chosen
moments against a real SMTP server."""

from __future__ import annotations

import pytest

from portal.db import Database
from portal.settings import Settings
from tests.mailbox import SmtpSink
from tests.nurture.programs.driving import Drive


@pytest.fixture
def drive(db: Database, mail_settings: Settings, smtp_sink: SmtpSink) -> Drive:
    """The scheduler and the send job, no app and no background job beside them."""
    return Drive(db, mail_settings, smtp_sink)
