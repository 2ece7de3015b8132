"""Terminal status, suspension reason and network type are one vocabulary each: schemas and models agree."""

from __future__ import annotations

from typing import Any

from posops.onboarding.schemas import DeviceIn
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus
from posops.terminals.models import Terminal
from posops.terminals.schemas import NetworkType, ReasonChangeIn, SuspendIn, TerminalFilters, TerminalIn, TerminalPatch


def _accepted(schema: dict[str, Any], field: str) -> set[str]:
    """The values a JSON schema accepts for one field, through `$ref` and `anyOf` (nullable) wrappers."""
    spec = schema["properties"][field]
    for option in spec.get("anyOf", [spec]):
        if "$ref" in option:
            return set(schema["$defs"][option["$ref"].rsplit("/", 1)[-1]]["enum"])
    raise AssertionError(f"{field} accepts no fixed set of values")


def test_schemas_accept_exactly_the_enum_values() -> None:
    statuses, reasons, networks = {*TerminalStatus}, {*SuspensionReason}, {*NetworkType}
    terminal_in = TerminalIn.model_json_schema()
    assert _accepted(terminal_in, "status") == statuses
    assert _accepted(terminal_in, "status_reason") == reasons
    assert _accepted(terminal_in, "network_type") == networks
    assert _accepted(TerminalPatch.model_json_schema(), "network_type") == networks
    assert _accepted(TerminalFilters.model_json_schema(), "status") == statuses
    assert _accepted(SuspendIn.model_json_schema(), "reason") == reasons
    assert _accepted(ReasonChangeIn.model_json_schema(), "reason") == reasons
    assert _accepted(DeviceIn.model_json_schema(), "network_type") == networks


def test_model_defaults_are_enum_members() -> None:
    columns = Terminal.__table__.columns
    assert columns["status"].default.arg is TerminalStatus.ACTIVE
    assert columns["network_type"].default.arg is NetworkType.CELLULAR_4G

