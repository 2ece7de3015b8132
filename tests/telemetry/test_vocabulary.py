"""Incident status is one vocabulary: the schema and the model agree with IncidentStatus."""

from __future__ import annotations

from posops.telemetry.analytics import IncidentStatus
from posops.telemetry.models import Incident
from posops.telemetry.schemas import IncidentRef


def test_incident_schema_accepts_exactly_the_enum_values() -> None:
    schema = IncidentRef.model_json_schema()
    ref = schema["properties"]["status"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["$defs"][ref]["enum"]) == {*IncidentStatus}


def test_incident_default_is_an_enum_member() -> None:
    assert Incident.__table__.columns["status"].default.arg is IncidentStatus.OPEN
