"""Fixtures the portal tests share (the root ``tests/conftest.py`` gives the app, client and
staff): a marketer signed in once the app's first background pass has settled."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role
from tests.support import StaffActions


@pytest.fixture
def marketer(staff: StaffActions, settled: None) -> str:
    return staff.sign_in_as(Role.MARKETER)
