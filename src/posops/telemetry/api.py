"""JSON routes of fleet telemetry: heartbeat ingestion, a terminal's state and history, incidents, dead letters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from posops.core.deps import CurrentPrincipal, DbDep, PerPage, SettingsDep
from posops.core.inputs import Id, Word
from posops.telemetry import service
from posops.telemetry.heartbeat import Heartbeat
from posops.telemetry.schemas import (
    DeadLetters,
    IncidentDetail,
    IncidentRef,
    IngestResult,
    TerminalHistory,
    TerminalTelemetry,
    TerminalTokenOut,
)

router = APIRouter(prefix="/api/v1", tags=["telemetry"])



def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` written in place, to sit inside an operation of the document."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(item) for item in node] if isinstance(node, list) else node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


_HEARTBEAT = _inlined(Heartbeat.model_json_schema())
_HEARTBEAT_BODY = {
    "requestBody": {
        "required": True,
        "description": "One heartbeat (schema version 1, see posops.telemetry.heartbeat) or a JSON array of them.",
        "content": {"application/json": {"schema": {"oneOf": [_HEARTBEAT, {"type": "array", "items": _HEARTBEAT}]}}},
    },
}


def heartbeat_sender(request: Request, db: DbDep, settings: SettingsDep) -> service.Sender:
    """Who posts: a terminal's own token (``posterm_…``) or a user's bearer token; 401 without one."""
    return service.sender_for_bearer(db, settings, request.headers.get("authorization"))


HeartbeatSender = Annotated[service.Sender, Depends(heartbeat_sender)]


@router.post("/telemetry/heartbeats", openapi_extra=_HEARTBEAT_BODY, responses={
    422: {"description": "invalid heartbeats (each also kept as a dead letter); the valid ones were stored"}})
async def post_heartbeats(request: Request, db: DbDep, sender: HeartbeatSender) -> IngestResult:
    """Store one heartbeat or an array of them; a redelivered (sn, seq) changes nothing."""
    body = await request.body()
    return await run_in_threadpool(service.ingest_http, db, sender, body)


@router.get("/terminals/{terminal_id}/telemetry")
def read_terminal_telemetry(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> TerminalTelemetry:
    """A terminal's latest heartbeat, whether it is online, its derived evidence and its groups' open incidents."""
    return service.terminal_telemetry(db, principal, terminal_id)


@router.get("/terminals/{terminal_id}/telemetry/history")
def read_terminal_history(terminal_id: Id, db: DbDep, principal: CurrentPrincipal,
                          hours: Annotated[int | None, Query(ge=1, le=168)] = None) -> TerminalHistory:
    """Battery, signal and reader error rate over the last hours (default: as far back as it reported, up to 24 h)."""
    return service.terminal_history(db, principal, terminal_id, hours=hours)


@router.post("/terminals/{terminal_id}/telemetry-token", status_code=201)
def issue_terminal_token(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> TerminalTokenOut:
    """Issue the token the terminal posts its own heartbeats with (admins; shown once, earlier ones revoked)."""
    return service.issue_terminal_token(db, principal, terminal_id)


@router.delete("/terminals/{terminal_id}/telemetry-token")
def revoke_terminal_token(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> dict[str, int]:
    """Revoke the terminal's tokens (admins)."""
    return {"revoked": service.revoke_terminal_tokens(db, principal, terminal_id)}


@router.get("/telemetry/incidents")
def list_incidents(db: DbDep, principal: CurrentPrincipal, status: Word | None = None,
                   limit: PerPage = 50) -> list[IncidentRef]:
    """Outage incidents, open first; a merchant sees those that affected its terminals."""
    return service.list_incidents(db, principal, status=status, limit=limit)


@router.get("/telemetry/incidents/{incident_id}")
def read_incident(incident_id: Id, db: DbDep, principal: CurrentPrincipal) -> IncidentDetail:
    """An incident with its timeline and the terminals it affected."""
    return service.get_incident(db, principal, incident_id)


@router.get("/telemetry/dead-letters")
def read_dead_letters(db: DbDep, principal: CurrentPrincipal,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50) -> DeadLetters:
    """Messages that were not stored, counted by reason, newest first (staff)."""
    return service.dead_letters(db, principal, limit=limit)
