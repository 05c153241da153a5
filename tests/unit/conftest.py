"""What every unit test starts from."""

from __future__ import annotations

import pytest

from secdns.server.loglimit import LIMITER


@pytest.fixture(autouse=True)
def fresh_log_limiter():
    """The process-wide limit on lines about single requests starts afresh: tests log as many as they like."""
    LIMITER.reset()
    yield
