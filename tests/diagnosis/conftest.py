"""Shared fixtures for the diagnosis tests: the packaged knowledge and an engine over it."""

from __future__ import annotations

import pytest

from posops.diagnosis.engine import DiagnosisEngine
from posops.diagnosis.knowledge import Knowledge, load_knowledge


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load_knowledge()


@pytest.fixture(scope="session")
def engine(knowledge: Knowledge) -> DiagnosisEngine:
    return DiagnosisEngine(knowledge)
