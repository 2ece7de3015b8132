"""JSON routes for finding things in the fleet under /api/v1: global search and the terminal list with presence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from posops.core.deps import CurrentPrincipal, DbDep, PageNumber, PerPage
from posops.core.inputs import ONE_LINE
from posops.core.paging import Page
from posops.fleet import service
from posops.fleet.presence import Presence
from posops.fleet.schemas import MAX_QUERY, FleetTerminalOut, SearchOut, TerminalSort
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus

router = APIRouter(prefix="/api/v1", tags=["fleet"])
Text = Annotated[str | None, Query(min_length=1, max_length=MAX_QUERY, pattern=ONE_LINE)]


@router.get("/search")
def search(db: DbDep, principal: CurrentPrincipal,
           q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY, pattern=ONE_LINE,
                                   description="serial number, TID, MID, merchant name or phone, or a part")]
           ) -> SearchOut:
    """Find terminals by serial number, TID or MID and merchants by name or contact phone (a merchant: its own)."""
    return service.search(db, principal, q)


@router.get("/fleet/terminals")
def fleet_terminals(db: DbDep, principal: CurrentPrincipal, q: Text = None, status: TerminalStatus | None = None,
                    model: Text = None, region: Text = None, reason: SuspensionReason | None = None,
                    presence: Presence | None = None,
                    merchant_id: Annotated[int | None, Query(gt=0, le=2**31 - 1)] = None,
                    sort: TerminalSort | None = None, page: PageNumber = 1,
                    per_page: PerPage = 50) -> Page[FleetTerminalOut]:
    """List terminals with presence (online, offline, never reported) and last heartbeat; filter and sort.

    ``q`` is a substring of the serial number, TID, MID or merchant name; ``region`` a substring;
    ``sort`` one of serial_number, tid, merchant, status, last_seen, with a leading ``-`` for descending.
    """
    filters = service.fleet_filters({"q": q, "status": status, "model": model, "region": region, "reason": reason,
                                     "presence": presence, "merchant_id": merchant_id, "sort": sort})
    return service.list_terminals(db, principal, filters, page=page, per_page=per_page)
