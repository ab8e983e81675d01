"""Fixtures of the mail tests: the real renderer with the tests' own ``digest`` kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.mail.render import MailRenderer
from portal.settings import Settings
from tests.portal.mail.mailing import renderer


@pytest.fixture
def render(mail_settings: Settings, tmp_path: Path) -> MailRenderer:
    return renderer(mail_settings, tmp_path / "email-templates")
