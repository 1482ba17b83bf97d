"""Fixtures for the ERP tests; the record builders and the fake feed are tests.support.erp."""

from __future__ import annotations

import pytest

from esl_controller.models import Store


@pytest.fixture
def store(engine, settings) -> str:
    from esl_controller.db import session_scope

    with session_scope(engine) as s:
        s.add(Store(id=settings.store_id, name="Test store", locale="ro_RO", currency="RON"))
    return settings.store_id
