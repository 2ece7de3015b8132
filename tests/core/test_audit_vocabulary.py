"""Audit entity names are one vocabulary: the timeline schema, the audit and document columns agree with AuditEntity."""

from __future__ import annotations

from posops.core.audit import AuditEntity
from posops.core.models import AuditEvent, StoredDocument
from posops.terminals.schemas import TimelineEventOut


def test_timeline_schema_accepts_exactly_the_audit_entities() -> None:
    schema = TimelineEventOut.model_json_schema()
    ref = schema["properties"]["entity_type"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["$defs"][ref]["enum"]) == {*AuditEntity}


def test_every_entity_name_fits_the_columns_that_store_it() -> None:
    widths = (AuditEvent.__table__.columns["entity_type"].type.length,
              StoredDocument.__table__.columns["owner_type"].type.length)
    too_long = [e for e in AuditEntity for width in widths if len(e) > width]
    assert too_long == []
