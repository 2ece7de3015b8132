"""JSON routes of ISO 8583: decode a frame, import a traffic log or capture, read a terminal's latest traffic."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from posops.core.deps import CurrentPrincipal, DbDep
from posops.core.inputs import Id
from posops.iso8583 import service
from posops.iso8583.analysis import AnalysisSettings
from posops.iso8583.schemas import DecodedFrame, DecodeIn, TerminalTrafficOut, TrafficImportOut
from posops.iso8583.uploads import MAX_UPLOAD_BYTES, spooled_request

router = APIRouter(prefix="/api/v1", tags=["iso8583"])

_UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "frame log (time, > or <, hex per line) or pcap capture"}}}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary",
                                            "description": "the file itself, named by a Content-Disposition "
                                                           "header (attachment; filename=\"pos.log\")"}},
}}}


@router.post("/iso8583/decode")
def decode_frame(body: DecodeIn, principal: CurrentPrincipal) -> DecodedFrame:
    """Decode one frame, card data masked; a malformed frame is a 422 naming the field and the byte offset."""
    return service.decode(principal, body)


@router.post("/traffic/analyses", status_code=201, openapi_extra=_UPLOAD_BODY,
             description=f"Upload a frame log or pcap capture (at most {MAX_UPLOAD_BYTES >> 20} MiB) as the "
                         "multipart part `file` or as the raw body. It is analysed from a temporary file that is "
                         "deleted at once; the analysis is attached to every registered terminal whose TID appears. "
                         "Agents, technicians and administrators.")
async def import_traffic(
    request: Request, db: DbDep, principal: CurrentPrincipal,
    timeout: Annotated[float, Query(gt=0, le=3600, description="seconds before an unanswered request "
                                                               "times out")] = 60.0,
    storm_threshold: Annotated[int, Query(ge=2, le=1000, description="failures of one code that make a "
                                                                     "storm")] = 5,
    storm_window: Annotated[float, Query(gt=0, le=86400, description="storm window, seconds")] = 300.0,
    port: Annotated[int | None, Query(ge=1, le=65535, description="pcap: only this TCP port")] = None,
) -> TrafficImportOut:
    """Analyse an uploaded log or capture and attach it to the terminals it covers."""
    service.ensure_may_import(principal)  # refuse before reading a possibly large body
    settings = AnalysisSettings(timeout=timeout, storm_threshold=storm_threshold, storm_window=storm_window)
    async with spooled_request(request) as upload:
        return await run_in_threadpool(service.import_traffic, db, principal, upload.path, upload.name,
                                       settings=settings, port=port)


@router.get("/terminals/{terminal_id}/traffic")
def terminal_traffic(terminal_id: Id, db: DbDep, principal: CurrentPrincipal) -> TerminalTrafficOut:
    """The newest traffic analysed for a terminal; 404 when none, or when the caller may not see the terminal."""
    return service.latest_traffic(db, principal, terminal_id)
