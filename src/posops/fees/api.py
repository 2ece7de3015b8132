"""JSON routes of fees under /api/v1/fees: rate cards, a merchant's contract, mix, volumes, statements, cost,
the comparison of cards, the checks and their flags."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile

from posops.core.deps import CurrentPrincipal, DbDep, SettingsDep
from posops.core.errors import Invalid
from posops.core.inputs import Id
from posops.fees import service as fees
from posops.fees.schemas import (
    ComparisonOut,
    ContractIn,
    ContractOut,
    CostOut,
    FlagCloseIn,
    FlagKind,
    FlagOut,
    FlagStatus,
    MixOut,
    MixSource,
    RateCardIn,
    RateCardOut,
    StatementOut,
    VolumesIn,
)

router = APIRouter(prefix="/api/v1/fees", tags=["fees"])


async def _statement_body(request: Request) -> tuple[str, bytes]:
    """A statement sent as multipart (field ``file``) or as a raw text/csv body: its name and at most the limit
    and one byte (the service refuses more)."""
    limit = fees.STATEMENT_MAX_BYTES
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("file", key="fees.error.statement_field")
        return upload.filename or "statement.csv", await upload.read(limit + 1)
    content = b""
    async for chunk in request.stream():
        content += chunk
        if len(content) > limit:
            break
    return "statement.csv", content


StatementBody = Annotated[tuple[str, bytes], Depends(_statement_body)]


@router.get("/rate-cards")
def list_rate_cards(db: DbDep, principal: CurrentPrincipal, include_expired: bool = False) -> list[RateCardOut]:
    """Rate cards offered today (every card with ``include_expired``), examples last."""
    return fees.list_rate_cards(db, principal, include_expired=include_expired)


@router.post("/rate-cards", status_code=201)
def create_rate_card(body: RateCardIn, db: DbDep, principal: CurrentPrincipal) -> RateCardOut:
    """Store a provider's rate card (agent, admin); audited."""
    return fees.create_rate_card(db, principal, body)


@router.get("/rate-cards/{card_id}")
def read_rate_card(card_id: Id, db: DbDep, principal: CurrentPrincipal) -> RateCardOut:
    """One rate card."""
    return fees.get_rate_card(db, principal, card_id)


@router.put("/rate-cards/{card_id}")
def update_rate_card(card_id: Id, body: RateCardIn, db: DbDep, principal: CurrentPrincipal) -> RateCardOut:
    """Replace a rate card's terms (agent, admin); audited with before and after."""
    return fees.update_rate_card(db, principal, card_id, body)


@router.delete("/rate-cards/{card_id}")
def delete_rate_card(card_id: Id, db: DbDep, principal: CurrentPrincipal) -> RateCardOut:
    """Remove a rate card no merchant is on (agent, admin): 409 when one is; audited."""
    return fees.delete_rate_card(db, principal, card_id)


@router.get("/merchants/{merchant_id}/contract")
def read_contract(merchant_id: Id, db: DbDep, principal: CurrentPrincipal) -> ContractOut:
    """The merchant's rate card, class and registered MCC; 404 without a contract."""
    return fees.get_contract(db, principal, merchant_id)


@router.put("/merchants/{merchant_id}/contract")
def put_contract(merchant_id: Id, body: ContractIn, db: DbDep, principal: CurrentPrincipal) -> ContractOut:
    """Put the merchant on a rate card, in a class, with its registered MCC (agent, admin); audited."""
    return fees.set_contract(db, principal, merchant_id, body)


@router.get("/merchants/{merchant_id}/mix")
def read_mix(merchant_id: Id, db: DbDep, principal: CurrentPrincipal, source: MixSource | None = None) -> MixOut:
    """The merchant's payments by channel and card type: traffic of 30 days, else statement, else typed-in."""
    return fees.merchant_mix(db, principal, merchant_id, source=source)


@router.put("/merchants/{merchant_id}/volumes")
def put_volumes(merchant_id: Id, body: VolumesIn, db: DbDep, principal: CurrentPrincipal) -> MixOut:
    """Type in the merchant's typical month (the merchant, agent, admin)."""
    return fees.set_volumes(db, principal, merchant_id, body)


@router.get("/merchants/{merchant_id}/statements")
def list_statements(merchant_id: Id, db: DbDep, principal: CurrentPrincipal) -> list[StatementOut]:
    """The merchant's statements, newest first, with the overcharges found in each."""
    return fees.list_statements(db, principal, merchant_id)


@router.post("/merchants/{merchant_id}/statements", status_code=201)
def import_statement(merchant_id: Id, db: DbDep, principal: CurrentPrincipal, settings: SettingsDep,
                     body: StatementBody) -> StatementOut:
    """Upload a statement CSV (multipart field ``file`` or a text/csv body) with the columns date, channel,
    card_type, amount_fen (or amount in 元), charged_fen (or charged in 元); a bad row is a 422 naming its line
    and field, and nothing is stored."""
    name, content = body
    return fees.import_statement(db, principal, merchant_id, content, source_name=name,
                                 max_rows=settings.import_max_rows)


@router.get("/merchants/{merchant_id}/cost")
def read_cost(merchant_id: Id, db: DbDep, principal: CurrentPrincipal, card_id: Id | None = None) -> CostOut:
    """What a card (the contract's by default) costs the merchant a month and a year, every component shown."""
    return fees.merchant_cost(db, principal, merchant_id, card_id)


@router.get("/merchants/{merchant_id}/comparison")
def read_comparison(merchant_id: Id, db: DbDep, principal: CurrentPrincipal) -> ComparisonOut:
    """Every card in force priced on the merchant's mix, cheapest first, the cost curve and its crossings."""
    return fees.compare_cards(db, principal, merchant_id)


@router.post("/merchants/{merchant_id}/checks")
def run_checks(merchant_id: Id, db: DbDep, principal: CurrentPrincipal) -> list[FlagOut]:
    """Check statement charges against the contract card and traffic MCCs against the registered one (agent,
    admin, risk); the flags this run added (none when run again)."""
    return fees.check_merchant(db, principal, merchant_id)


@router.get("/flags")
def list_flags(db: DbDep, principal: CurrentPrincipal, kind: FlagKind | None = None,
               status: Literal["open", "closed", "all"] = "open", merchant_id: Id | None = None) -> list[FlagOut]:
    """What the checks found, newest first; a merchant sees its own overcharges only."""
    return fees.list_flags(db, principal, kind=kind, status=None if status == "all" else FlagStatus(status),
                           merchant_id=merchant_id)


@router.post("/flags/{flag_id}/close")
def close_flag(flag_id: Id, body: FlagCloseIn, db: DbDep, principal: CurrentPrincipal) -> FlagOut:
    """Close a flag saying what was done (agent, admin; risk its MCC flags); audited."""
    return fees.close_flag(db, principal, flag_id, body)
