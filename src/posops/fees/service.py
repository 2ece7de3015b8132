"""Use cases of fees: rate cards, merchants' contracts, a merchant's mix and cost, the comparison, the checks.

The arithmetic lives in the pure modules (``regulation`` for the regulated ceilings, ``pricing`` for a
card's cost of a mix); this module joins them with storage. Each use case is one transaction with its
audit entries: rate-card changes under ``rate_card``, contracts, volumes and statements under the
merchant, flags under ``fee_flag``.

A merchant's mix comes from the approved purchases in its terminals' ISO 8583 traffic of the last 30
days, else from its latest statement, else from the month it typed in. Card payments of unknown type
(the BIN table did not know the card; a statement that does not say) are priced as credit: the dearer,
uncapped rate, so that an estimate never understates the cost; the mix says how many were.

Who may do what: every role reads rate cards (merchants compare offers); the desk (agent, admin)
changes cards and contracts; a merchant reads its own contract, mix, cost and comparison, types in
its own volumes and uploads its own statements, and sees its own overcharge flags — never an MCC
flag, which is the risk role's; risk reads everything and runs the checks; technicians read cards only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from math import gcd
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from posops.core import audit
from posops.core.audit import AuditEntity
from posops.core.auth import USER_ROLES, Principal, Role, ensure_visible, require_role, scoped
from posops.core.db import Database, conflict_on_duplicate, utcnow
from posops.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from posops.core.labels import Label, catalog_label, catalog_sentence
from posops.fees import pricing
from posops.fees.models import FeeContract, FeeFlag, FeeRateCard, FeeStatement, FeeStatementLine, FeeVolume
from posops.fees.pricing import Bucket, Channel, Deposit, Mix, Period, PeriodicFee, Rate, RateCard, Surcharge, Volume
from posops.fees.regulation import CardType, MerchantClass, regulated_fee, to_fen
from posops.fees.schemas import (
    STATEMENT_COLUMNS,
    ComparisonOut,
    ContractIn,
    ContractOut,
    CostLine,
    CostOut,
    CrossingOut,
    CurveOut,
    DepositIn,
    DepositOut,
    FlagCloseIn,
    FlagKind,
    FlagOut,
    FlagStatus,
    MixLine,
    MixOut,
    MixSource,
    PeriodicFeeIn,
    RateCardIn,
    RateCardOut,
    RateIn,
    RegulatedLine,
    RegulatedOut,
    SeriesOut,
    StatementOut,
    StatementRow,
    SurchargeIn,
    VolumesIn,
)
from posops.iso8583.models import TerminalTrafficRecord
from posops.terminals.arrears import format_yuan
from posops.terminals.csv_import import MAX_ROWS, parse_csv
from posops.terminals.models import Merchant, Terminal

DESK = (Role.AGENT, Role.ADMIN)
CARD_READERS = USER_ROLES
MERCHANT_READERS = (Role.MERCHANT, Role.AGENT, Role.ADMIN, Role.RISK)
MERCHANT_WRITERS = (Role.MERCHANT, Role.AGENT, Role.ADMIN)
CHECKERS = (Role.AGENT, Role.ADMIN, Role.RISK)
FLAG_READERS = (Role.MERCHANT, Role.AGENT, Role.ADMIN, Role.RISK)
TRAFFIC_DAYS = 30
"""How far back a merchant's traffic makes its mix."""
MONTH_DAYS = pricing.DAYS_PER_MONTH
UNKNOWN_PRICED_AS = CardType.CREDIT
"""How a card payment of unknown type is priced: as credit, the dearer and uncapped rate."""
TOLERANCE_FEN = 1
"""A statement line charged at most this much over the card's fee is rounding, not an overcharge."""
STATEMENT_MAX_BYTES = 2 * 1024 * 1024
"""The largest statement file (about 40,000 lines)."""
CARD_DAYS_ZONE = "Asia/Shanghai"
"""Rate cards and the regulation are dated in Beijing days."""
CURVE_POINTS = 12
MAX_FLAGS = 500
OTHER_MCCS = "other"
"""What an MCC flag is about when traffic carried more distinct codes than its analysis names."""
_CLASSES = {"debit": CardType.DEBIT, "credit": CardType.CREDIT}
"""Traffic's card classes by name; any other (``unknown``) is a card of unknown type."""


def today(zone: str = CARD_DAYS_ZONE) -> date:
    """The day it is in ``zone`` (Beijing by default)."""
    return utcnow().astimezone(ZoneInfo(zone)).date()


def priced_card_type(channel: Channel, card_type: CardType) -> CardType:
    """The card type a payment is priced as: a card payment of unknown type as credit, anything else as it is."""
    return UNKNOWN_PRICED_AS if channel is Channel.CARD and card_type is CardType.ANY else card_type


def percent(rate_bp: Decimal) -> str:
    """Basis points as a percentage, at least two decimals: ``Decimal('60')`` -> ``'0.60'``."""
    value = rate_bp / 100
    shown = value.quantize(Decimal("0.01"))
    return str(shown if shown == value else value.normalize())


# rate cards --------------------------------------------------------------------------------------------------


def _parts(data: RateCardIn) -> dict[str, Any]:
    return data.model_dump(mode="json", include={"rates", "surcharges", "periodic_fees", "deposit"})


def _pricing_card(row: FeeRateCard) -> RateCard:
    """The stored card as ``pricing`` prices it."""
    parts = row.parts
    deposit = parts.get("deposit")
    return RateCard(
        provider=row.provider, product=pricing.Product(row.product), merchant_class=MerchantClass(row.merchant_class),
        rates=tuple(Rate(Channel(r["channel"]), CardType(r["card_type"]), Decimal(r["rate_bp"]), r.get("cap_fen"),
                         r.get("threshold_fen")) for r in parts.get("rates", [])),
        surcharges=tuple(Surcharge(s["name"], s["fen_per_transaction"],
                                   Channel(s["channel"]) if s.get("channel") else None, CardType(s["card_type"]))
                         for s in parts.get("surcharges", [])),
        periodic_fees=tuple(PeriodicFee(p["name"], p["fen"], Period(p["period"]))
                            for p in parts.get("periodic_fees", [])),
        deposit=Deposit(deposit["fen"], deposit["refund_volume_fen"], deposit["within_days"]) if deposit else None,
        valid_from=row.valid_from, valid_to=row.valid_to, source=row.source, source_date=row.source_date,
        is_example=row.is_example)


def card_in(card: RateCard) -> RateCardIn:
    """A ``pricing`` card (an example card, one read from a file) as the input that stores it."""
    return RateCardIn(
        provider=card.provider, product=card.product, merchant_class=card.merchant_class,
        rates=[RateIn(channel=r.channel, card_type=r.card_type, rate_bp=str(r.rate_bp), cap_fen=r.cap_fen,
                      threshold_fen=r.threshold_fen) for r in card.rates],
        surcharges=[SurchargeIn(name=s.name, fen_per_transaction=s.fen_per_transaction, channel=s.channel,
                                card_type=s.card_type) for s in card.surcharges],
        periodic_fees=[PeriodicFeeIn(name=p.name, fen=p.fen, period=p.period) for p in card.periodic_fees],
        deposit=None if card.deposit is None else DepositIn(fen=card.deposit.fen,
                                                            refund_volume_fen=card.deposit.refund_volume_fen,
                                                            within_days=card.deposit.within_days),
        valid_from=card.valid_from, valid_to=card.valid_to, source=card.source, source_date=card.source_date,
        is_example=card.is_example)


def _card_out(row: FeeRateCard, day: date | None = None) -> RateCardOut:
    parts = row.parts
    on = day or today()
    return RateCardOut(
        id=row.id, provider=row.provider, product=pricing.Product(row.product),
        merchant_class=MerchantClass(row.merchant_class),
        rates=[RateIn.model_validate(r) for r in parts.get("rates", [])],
        surcharges=[SurchargeIn.model_validate(s) for s in parts.get("surcharges", [])],
        periodic_fees=[PeriodicFeeIn.model_validate(p) for p in parts.get("periodic_fees", [])],
        deposit=DepositIn.model_validate(parts["deposit"]) if parts.get("deposit") else None,
        valid_from=row.valid_from, valid_to=row.valid_to, source=row.source, source_date=row.source_date,
        is_example=row.is_example, in_force=row.valid_from <= on and (row.valid_to is None or on <= row.valid_to),
        created_by=row.created_by, created_at=row.created_at, updated_at=row.updated_at)


def _card_state(row: FeeRateCard) -> dict[str, Any]:
    return {"provider": row.provider, "product": row.product, "merchant_class": row.merchant_class,
            "parts": row.parts, "valid_from": row.valid_from.isoformat(),
            "valid_to": row.valid_to.isoformat() if row.valid_to else None, "source": row.source,
            "source_date": row.source_date.isoformat(), "is_example": row.is_example}


def _check_prices(data: RateCardIn) -> None:
    """Refuse a card ``pricing`` could not price (the schema checks most of it already)."""
    probe = FeeRateCard(provider=data.provider, product=data.product, merchant_class=data.merchant_class,
                        parts=_parts(data), valid_from=data.valid_from, valid_to=data.valid_to, source=data.source,
                        source_date=data.source_date, is_example=data.is_example)
    try:
        _pricing_card(probe)
    except (TypeError, ValueError) as exc:
        raise Invalid("rates", key="fees.error.card_unpriceable", why=str(exc)) from None


def list_rate_cards(db: Database, principal: Principal, *, include_expired: bool = False) -> list[RateCardOut]:
    """Rate cards by provider and product; those no longer offered only with ``include_expired``."""
    require_role(principal, *CARD_READERS)
    on = today()
    with db.transaction() as session:
        query = select(FeeRateCard).order_by(FeeRateCard.is_example, FeeRateCard.provider, FeeRateCard.product,
                                             FeeRateCard.valid_from, FeeRateCard.id)
        if not include_expired:
            query = query.where((FeeRateCard.valid_to.is_(None)) | (FeeRateCard.valid_to >= on))
        return [_card_out(row, on) for row in session.scalars(query)]


def get_rate_card(db: Database, principal: Principal, card_id: int) -> RateCardOut:
    """One rate card."""
    require_role(principal, *CARD_READERS)
    with db.transaction() as session:
        return _card_out(_load_card(session, card_id))


def _load_card(session: Session, card_id: int, *, lock: bool = False) -> FeeRateCard:
    query = select(FeeRateCard).where(FeeRateCard.id == card_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(key="fees.error.card_not_found")
    return row


def create_rate_card(db: Database, principal: Principal, data: RateCardIn) -> RateCardOut:
    """Store a rate card (the desk), audited; one card per provider, product, class and first day."""
    require_role(principal, *DESK)
    _check_prices(data)
    with db.transaction() as session:
        row = FeeRateCard(provider=data.provider, product=data.product, merchant_class=data.merchant_class,
                          parts=_parts(data), valid_from=data.valid_from, valid_to=data.valid_to,
                          source=data.source, source_date=data.source_date, is_example=data.is_example,
                          created_by=principal.username, created_by_user_id=principal.user_id)
        session.add(row)
        with conflict_on_duplicate(key="fees.error.card_exists", provider=data.provider,
                                   valid_from=data.valid_from.isoformat()):
            session.flush()
        audit.record(session, principal, AuditEntity.RATE_CARD, row.id, "create", after=_card_state(row))
        return _card_out(row)


def update_rate_card(db: Database, principal: Principal, card_id: int, data: RateCardIn) -> RateCardOut:
    """Replace a rate card's terms (the desk), audited with the terms before and after."""
    require_role(principal, *DESK)
    _check_prices(data)
    with db.transaction() as session:
        row = _load_card(session, card_id, lock=True)
        before = _card_state(row)
        row.provider, row.product, row.merchant_class = data.provider, data.product, data.merchant_class
        row.parts, row.valid_from, row.valid_to = _parts(data), data.valid_from, data.valid_to
        row.source, row.source_date, row.is_example = data.source, data.source_date, data.is_example
        row.updated_at = utcnow()
        with conflict_on_duplicate(key="fees.error.card_exists", provider=data.provider,
                                   valid_from=data.valid_from.isoformat()):
            session.flush()
        audit.record(session, principal, AuditEntity.RATE_CARD, row.id, "update", before=before,
                     after=_card_state(row))
        return _card_out(row)


def delete_rate_card(db: Database, principal: Principal, card_id: int) -> RateCardOut:
    """Remove a rate card no merchant is on (the desk), audited; a card in a contract is a 409."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        row = _load_card(session, card_id, lock=True)
        used = session.scalar(select(func.count()).select_from(FeeContract).where(FeeContract.rate_card_id == row.id))
        if used:
            raise Conflict(key="fees.error.card_in_use", merchants=used)
        out = _card_out(row)
        audit.record(session, principal, AuditEntity.RATE_CARD, row.id, "delete", before=_card_state(row))
        session.delete(row)
        return out


def load_cards(db: Database, principal: Principal, cards: Sequence[RateCardIn]) -> tuple[list[RateCardOut], int]:
    """Store several cards in one transaction (the example cards, a file's cards), audited each; a card already
    stored (same provider, product, class and first day) is skipped: (stored, skipped)."""
    require_role(principal, *DESK)
    for data in cards:
        _check_prices(data)
    stored, skipped = [], 0
    with db.transaction() as session:
        for data in cards:
            exists = session.scalar(select(FeeRateCard.id).where(
                FeeRateCard.provider == data.provider, FeeRateCard.product == data.product,
                FeeRateCard.merchant_class == data.merchant_class, FeeRateCard.valid_from == data.valid_from))
            if exists is not None:
                skipped += 1
                continue
            row = FeeRateCard(provider=data.provider, product=data.product, merchant_class=data.merchant_class,
                              parts=_parts(data), valid_from=data.valid_from, valid_to=data.valid_to,
                              source=data.source, source_date=data.source_date, is_example=data.is_example,
                              created_by=principal.username, created_by_user_id=principal.user_id)
            session.add(row)
            session.flush()
            audit.record(session, principal, AuditEntity.RATE_CARD, row.id, "create", after=_card_state(row))
            stored.append(_card_out(row))
    return stored, skipped


def load_example_cards(db: Database, principal: Principal) -> tuple[list[RateCardOut], int]:
    """Store ``pricing.EXAMPLE_CARDS``, labelled as examples (``is_example``), unless already stored."""
    return load_cards(db, principal, [card_in(card) for card in pricing.EXAMPLE_CARDS])


# contracts ---------------------------------------------------------------------------------------------------


def _merchant(session: Session, principal: Principal, merchant_id: int) -> Merchant:
    ensure_visible(principal, merchant_id, "merchant")
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(key="error.not_found.merchant")
    return merchant


def _contract_out(contract: FeeContract, card: FeeRateCard) -> ContractOut:
    return ContractOut(merchant_id=contract.merchant_id, rate_card_id=contract.rate_card_id,
                       merchant_class=MerchantClass(contract.merchant_class),
                       registered_mcc=contract.registered_mcc, card=_card_out(card),
                       updated_by=contract.updated_by, updated_at=contract.updated_at)


def set_contract(db: Database, principal: Principal, merchant_id: int, data: ContractIn) -> ContractOut:
    """Put a merchant on a rate card, in a class, with its registered MCC (the desk), audited."""
    require_role(principal, *DESK)
    with db.transaction() as session:
        _merchant(session, principal, merchant_id)
        card = _load_card(session, data.rate_card_id)
        contract = session.scalar(select(FeeContract).where(FeeContract.merchant_id == merchant_id)
                                  .with_for_update())
        before = None if contract is None else _contract_state(contract)
        if contract is None:
            contract = FeeContract(merchant_id=merchant_id)
            session.add(contract)
        contract.rate_card_id, contract.merchant_class = card.id, data.merchant_class
        contract.registered_mcc, contract.updated_by, contract.updated_at = (data.registered_mcc,
                                                                              principal.username, utcnow())
        session.flush()
        audit.record(session, principal, AuditEntity.MERCHANT, merchant_id, "fee_contract", before=before,
                     after=_contract_state(contract))
        return _contract_out(contract, card)


def _contract_state(contract: FeeContract) -> dict[str, Any]:
    return {"rate_card_id": contract.rate_card_id, "merchant_class": contract.merchant_class,
            "registered_mcc": contract.registered_mcc}


def get_contract(db: Database, principal: Principal, merchant_id: int) -> ContractOut:
    """A merchant's contract; 404 when it has none."""
    require_role(principal, *MERCHANT_READERS)
    with db.transaction() as session:
        _merchant(session, principal, merchant_id)
        contract = session.get(FeeContract, merchant_id)
        if contract is None:
            raise NotFound(key="fees.error.no_contract")
        return _contract_out(contract, _load_card(session, contract.rate_card_id))


# a merchant's mix --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedMix:
    """A mix as shown (``out``) and as priced: ``mix`` spans ``months`` months, its payments ``factor`` times the
    shown ones (scaled so that the months are whole)."""

    out: MixOut
    mix: Mix
    months: int
    factor: int = 1


def _even_buckets(count: int, amount_fen: int) -> tuple[Bucket, ...]:
    """``count`` payments totalling ``amount_fen`` as near-equal amounts, the total kept to the fen."""
    if count <= 0 or amount_fen <= 0:
        return ()
    each, rest = divmod(amount_fen, count)
    return tuple(b for b in (Bucket(count - rest, each), Bucket(rest, each + 1)) if b.count)


def _priced(out_lines: Sequence[MixLine], buckets: dict[tuple[Channel, CardType], list[Bucket]], source: MixSource,
            period_days: int, **extra: Any) -> PricedMix:
    """Scale a mix of ``period_days`` days so that it spans whole months: counts × 30/g over period/g months."""
    period_days = max(1, period_days)
    common = gcd(MONTH_DAYS, period_days)
    factor, months = MONTH_DAYS // common, period_days // common
    volumes = tuple(Volume(channel, priced_card_type(channel, card_type),
                           tuple(Bucket(b.count * factor, b.amount_fen_each) for b in found))
                    for (channel, card_type), found in sorted(buckets.items()) if found)
    merged: dict[tuple[Channel, CardType], list[Bucket]] = defaultdict(list)
    for volume in volumes:
        merged[(volume.channel, volume.card_type)].extend(volume.buckets)
    mix = Mix(tuple(Volume(channel, card_type, tuple(found)) for (channel, card_type), found in sorted(merged.items())))
    volume_fen = sum(line.amount_fen for line in out_lines)
    unknown = [line for line in out_lines if line.channel is Channel.CARD and line.card_type is CardType.ANY]
    out = MixOut(source=source, period_days=period_days, lines=list(out_lines), volume_fen=volume_fen,
                 count=sum(line.count for line in out_lines),
                 month_volume_fen=to_fen(Decimal(volume_fen) * MONTH_DAYS / period_days),
                 unknown_count=sum(line.count for line in unknown),
                 unknown_amount_fen=sum(line.amount_fen for line in unknown), **extra)
    return PricedMix(out, mix, months, factor)


def _lines_of(totals: dict[tuple[Channel, CardType], list[int]]) -> list[MixLine]:
    return [MixLine(channel=channel, card_type=card_type, count=count, amount_fen=amount)
            for (channel, card_type), (count, amount) in sorted(totals.items()) if count or amount]


def _traffic_records(session: Session, merchant_id: int, since: datetime) -> list[TerminalTrafficRecord]:
    """The merchant's terminals' traffic seen since ``since``, newest first; a record overlapping a newer one of
    the same terminal (the same hours imported twice) is left out, so no payment counts twice."""
    rows = session.scalars(
        select(TerminalTrafficRecord).join(Terminal, Terminal.id == TerminalTrafficRecord.terminal_id)
        .where(Terminal.merchant_id == merchant_id, TerminalTrafficRecord.last_seen >= since)
        .order_by(TerminalTrafficRecord.last_seen.desc(), TerminalTrafficRecord.id.desc()))
    kept: list[TerminalTrafficRecord] = []
    for row in rows:
        if not any(k.terminal_id == row.terminal_id and row.first_seen <= k.last_seen and k.first_seen <= row.last_seen
                   for k in kept):
            kept.append(row)
    return kept


def _traffic_mix(session: Session, merchant: Merchant) -> PricedMix | None:
    """The approved purchases of the merchant's terminals over the last 30 days; None when there are none."""
    now = utcnow()
    records = _traffic_records(session, merchant.id, now - timedelta(days=TRAFFIC_DAYS))
    totals: dict[tuple[Channel, CardType], list[int]] = defaultdict(lambda: [0, 0])
    buckets: dict[tuple[Channel, CardType], list[Bucket]] = defaultdict(list)
    zone = ZoneInfo(merchant.time_zone or CARD_DAYS_ZONE)
    days: set[date] = set()
    used = []
    for record in records:
        purchases = (record.summary or {}).get("purchases") or {}
        if not isinstance(purchases, dict) or not purchases:
            continue
        counted = False
        for name, figures in purchases.items():
            if not isinstance(figures, dict):
                continue
            key = (Channel.CARD, _CLASSES.get(str(name), CardType.ANY))
            count, amount = _whole(figures.get("count")), _whole(figures.get("amount_fen"))
            if not count:
                continue
            totals[key][0] += count
            totals[key][1] += amount
            parts = [b for b in figures.get("buckets") or [] if isinstance(b, dict)]
            if parts and sum(_whole(b.get("count")) for b in parts) == count:
                for part in parts:
                    buckets[key].extend(_even_buckets(_whole(part.get("count")), _whole(part.get("amount_fen"))))
            else:
                buckets[key].extend(_even_buckets(count, amount))
            counted = True
        if counted:
            used.append(record)
            first, last = record.first_seen.astimezone(zone).date(), record.last_seen.astimezone(zone).date()
            days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    if not used:
        return None
    return _priced(_lines_of(totals), buckets, MixSource.TRAFFIC, len(days),
                   since=min(r.first_seen for r in used), until=max(r.last_seen for r in used))


def _whole(value: Any) -> int:
    """A count or an amount read from a stored summary: a non-negative int, anything else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _latest_statement(session: Session, merchant_id: int) -> FeeStatement | None:
    return session.scalar(select(FeeStatement).where(FeeStatement.merchant_id == merchant_id)
                          .order_by(FeeStatement.imported_at.desc(), FeeStatement.id.desc()).limit(1))


def _statement_mix(session: Session, statement: FeeStatement) -> PricedMix:
    totals: dict[tuple[Channel, CardType], list[int]] = defaultdict(lambda: [0, 0])
    amounts: dict[tuple[Channel, CardType], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for channel, card_type, amount in session.execute(
            select(FeeStatementLine.channel, FeeStatementLine.card_type, FeeStatementLine.amount_fen)
            .where(FeeStatementLine.statement_id == statement.id)):
        key = (Channel(channel), CardType(card_type))
        totals[key][0] += 1
        totals[key][1] += amount
        amounts[key][amount] += 1
    buckets = {key: [Bucket(n, amount) for amount, n in sorted(found.items())] for key, found in amounts.items()}
    return _priced(_lines_of(totals), buckets, MixSource.STATEMENT,
                   (statement.last_date - statement.first_date).days + 1, statement_id=statement.id)


def _typed_mix(session: Session, merchant_id: int) -> PricedMix | None:
    rows = list(session.scalars(select(FeeVolume).where(FeeVolume.merchant_id == merchant_id)))
    if not rows:
        return None
    totals = {(Channel(r.channel), CardType(r.card_type)): [r.count, r.amount_fen] for r in rows}
    buckets = {key: list(_even_buckets(count, amount)) for key, (count, amount) in totals.items()}
    return _priced(_lines_of(totals), buckets, MixSource.TYPED, MONTH_DAYS)


def _mix(session: Session, merchant: Merchant, source: MixSource | None) -> PricedMix:
    """The merchant's mix from ``source``, or the first of traffic, statement, typed-in that it has.

    Asking for a source it lacks is a 404; with none at all, an empty typed-in month.
    """
    if source in (None, MixSource.TRAFFIC):
        found = _traffic_mix(session, merchant)
        if found is not None or source is MixSource.TRAFFIC:
            if found is None:
                raise NotFound(key="fees.error.no_traffic", days=TRAFFIC_DAYS)
            return found
    if source in (None, MixSource.STATEMENT):
        statement = _latest_statement(session, merchant.id)
        if statement is not None:
            return _statement_mix(session, statement)
        if source is MixSource.STATEMENT:
            raise NotFound(key="fees.error.no_statement")
    typed = _typed_mix(session, merchant.id)
    if typed is None and source is MixSource.TYPED:
        raise NotFound(key="fees.error.no_volumes")
    return typed or _priced([], {}, MixSource.TYPED, MONTH_DAYS)


def merchant_mix(db: Database, principal: Principal, merchant_id: int, *,
                 source: MixSource | None = None) -> MixOut:
    """A merchant's payments by channel and card type: its traffic of the last 30 days, else its latest
    statement, else its typed-in month (or the ``source`` asked for)."""
    require_role(principal, *MERCHANT_READERS)
    with db.transaction() as session:
        return _mix(session, _merchant(session, principal, merchant_id), source).out


def set_volumes(db: Database, principal: Principal, merchant_id: int, data: VolumesIn) -> MixOut:
    """Replace a merchant's typed-in month (the merchant itself or the desk), audited."""
    require_role(principal, *MERCHANT_WRITERS)
    with db.transaction() as session:
        merchant = _merchant(session, principal, merchant_id)
        rows = list(session.scalars(select(FeeVolume).where(FeeVolume.merchant_id == merchant_id).with_for_update()))
        before = [_volume_state(r) for r in rows]
        session.execute(delete(FeeVolume).where(FeeVolume.merchant_id == merchant_id))
        now = utcnow()
        for line in data.lines:
            if line.count:
                session.add(FeeVolume(merchant_id=merchant_id, channel=line.channel, card_type=line.card_type,
                                      count=line.count, amount_fen=line.amount_fen, updated_by=principal.username,
                                      updated_at=now))
        session.flush()
        after = [_volume_state(r) for r in session.scalars(select(FeeVolume)
                                                           .where(FeeVolume.merchant_id == merchant_id))]
        audit.record(session, principal, AuditEntity.MERCHANT, merchant_id, "fee_volumes",
                     before={"lines": before}, after={"lines": after})
        return _mix(session, merchant, MixSource.TYPED).out if after else _priced([], {}, MixSource.TYPED,
                                                                                   MONTH_DAYS).out


def _volume_state(row: FeeVolume) -> dict[str, Any]:
    return {"channel": row.channel, "card_type": row.card_type, "count": row.count, "amount_fen": row.amount_fen}


# statements --------------------------------------------------------------------------------------------------


def _statement_rows(content: bytes, max_rows: int) -> list[tuple[int, StatementRow, int, int]]:
    """Every row of a statement CSV with its line, amount and charge in fen; every problem at once, or none."""
    if len(content) > STATEMENT_MAX_BYTES:
        raise Invalid("file", key="fees.error.statement_too_large", kib=STATEMENT_MAX_BYTES // 1024)
    parsed = parse_csv(content, StatementRow, renames=STATEMENT_COLUMNS, max_rows=max_rows)
    problems = list(parsed.errors)
    rows = []
    for line, row in parsed.rows:
        figures = []
        for name in ("amount", "charged"):
            given = [v for v in (getattr(row, f"{name}_fen"), getattr(row, name)) if v is not None]
            if len(given) != 1:
                key = "fees.error.amount_missing" if not given else "fees.error.amount_twice"
                problems.append(Problem(f"{name}_fen", catalog_sentence(key, column=name), line))
            figures.append(row.fen(name))
        amount, charged = figures
        if amount is not None and charged is not None:
            if amount == 0:
                problems.append(Problem("amount_fen", catalog_sentence("fees.error.amount_zero"), line))
            rows.append((line, row, amount, charged))
    if problems:
        raise Invalid.many(sorted(problems, key=lambda p: p.line or 0))
    if not rows:
        raise Invalid("file", key="fees.error.statement_empty")
    return rows


def import_statement(db: Database, principal: Principal, merchant_id: int, content: bytes, *,
                     source_name: str = "statement.csv", max_rows: int = MAX_ROWS) -> StatementOut:
    """Store a statement CSV (date, channel, card_type, amount_fen or amount in 元, charged_fen or charged in 元).

    Every bad row is refused at once with its line, and then nothing is stored. With a contract, the
    statement's lines are checked against its card at once and overcharges flagged (audited).
    """
    require_role(principal, *MERCHANT_WRITERS)
    rows = _statement_rows(content, max_rows)
    name = "".join(ch for ch in source_name.replace("\\", "/").rsplit("/", 1)[-1] if ch.isprintable())[:255]
    with db.transaction() as session:
        _merchant(session, principal, merchant_id)
        statement = FeeStatement(
            merchant_id=merchant_id, source_name=name or "statement.csv", imported_by=principal.username,
            imported_by_user_id=principal.user_id, imported_at=utcnow(),
            first_date=min(r.date for _, r, _, _ in rows), last_date=max(r.date for _, r, _, _ in rows),
            line_count=len(rows), amount_fen=sum(a for _, _, a, _ in rows), charged_fen=sum(c for *_, c in rows))
        session.add(statement)
        session.flush()
        session.add_all(FeeStatementLine(statement_id=statement.id, line=line, day=row.date, channel=row.channel,
                                         card_type=row.card_type, amount_fen=amount, charged_fen=charged)
                        for line, row, amount, charged in rows)
        session.flush()
        audit.record(session, principal, AuditEntity.MERCHANT, merchant_id, "fee_statement_import",
                     after={"statement_id": statement.id, "source_name": statement.source_name,
                            "lines": statement.line_count, "amount_fen": statement.amount_fen,
                            "charged_fen": statement.charged_fen}, reason=statement.source_name)
        contract = _lock_contract(session, merchant_id)
        if contract is not None:
            _check_overcharges(session, principal, contract, statement_id=statement.id)
        return _statement_out(session, statement)


def _statement_out(session: Session, statement: FeeStatement) -> StatementOut:
    found = session.execute(
        select(func.count(FeeFlag.id), func.coalesce(func.sum(FeeFlag.amount_fen), 0))
        .join(FeeStatementLine, FeeStatementLine.id == FeeFlag.statement_line_id)
        .where(FeeStatementLine.statement_id == statement.id, FeeFlag.kind == FlagKind.OVERCHARGE)).one()
    return StatementOut(id=statement.id, merchant_id=statement.merchant_id, source_name=statement.source_name,
                        imported_by=statement.imported_by, imported_at=statement.imported_at,
                        first_date=statement.first_date, last_date=statement.last_date,
                        line_count=statement.line_count, amount_fen=statement.amount_fen,
                        charged_fen=statement.charged_fen, overcharged_lines=int(found[0] or 0),
                        overcharge_fen=int(found[1] or 0))


def list_statements(db: Database, principal: Principal, merchant_id: int) -> list[StatementOut]:
    """A merchant's statements, newest first."""
    require_role(principal, *MERCHANT_READERS)
    with db.transaction() as session:
        _merchant(session, principal, merchant_id)
        rows = session.scalars(select(FeeStatement).where(FeeStatement.merchant_id == merchant_id)
                               .order_by(FeeStatement.imported_at.desc(), FeeStatement.id.desc()))
        return [_statement_out(session, row) for row in rows]


# costs and the comparison ------------------------------------------------------------------------------------


def _payment_label(channel: Channel, card_type: CardType) -> Label:
    return catalog_label(f"fees.payment.{channel.value}.{card_type.value}")


def _card_label(row: FeeRateCard) -> Label:
    product = catalog_label(f"fees.product.{row.product}")
    example = catalog_label("fees.example") if row.is_example else Label("", "")
    return Label(f"{row.provider} · {product.zh}{example.zh}",
                 f"{row.provider} · {product.en}{' (' + example.en + ')' if row.is_example else ''}")


def _per_month(value: int, months: int) -> int:
    return to_fen(Decimal(value) / months)


def _rate_line(line: pricing.RateLine, months: int) -> CostLine:
    rate = line.rate
    payment = _payment_label(rate.channel, rate.card_type)
    terms = [Label(f"{percent(rate.rate_bp)}%", f"{percent(rate.rate_bp)} %")]
    if rate.threshold_fen is not None:
        terms.append(catalog_sentence("fees.cost.up_to", yuan=format_yuan(rate.threshold_fen)))
    if rate.cap_fen is not None:
        terms.append(catalog_sentence("fees.cost.capped_at", yuan=format_yuan(rate.cap_fen)))
    detail = catalog_sentence("fees.cost.payments", count=_per_month(line.count, months),
                              yuan=format_yuan(_per_month(line.amount_fen, months)))
    if line.capped_count:
        capped = catalog_sentence("fees.cost.cap_hit", count=_per_month(line.capped_count, months))
        detail = Label(f"{detail.zh}，{capped.zh}", f"{detail.en}, {capped.en}")
    return CostLine(name="rate", label_zh=f"{payment.zh} " + "，".join(t.zh for t in terms),
                    label_en=f"{payment.en} " + ", ".join(t.en for t in terms),
                    fen=_per_month(line.fee_fen, months), detail_zh=detail.zh, detail_en=detail.en)


def _cost_lines(breakdown: pricing.CostBreakdown, months: int) -> list[CostLine]:
    lines = [_rate_line(line, months) for line in breakdown.rate_lines if line.count]
    for surcharge in breakdown.surcharge_lines:
        if surcharge.count:
            detail = catalog_sentence("fees.cost.per_payment", count=_per_month(surcharge.count, months),
                                      yuan=format_yuan(surcharge.surcharge.fen_per_transaction))
            lines.append(CostLine(name="surcharge", label_zh=surcharge.surcharge.name,
                                  label_en=surcharge.surcharge.name, fen=_per_month(surcharge.fee_fen, months),
                                  detail_zh=detail.zh, detail_en=detail.en))
    for fee in breakdown.periodic_fees:
        detail = catalog_sentence(f"fees.cost.billed_{fee.period.value}", yuan=format_yuan(fee.fen))
        lines.append(CostLine(name="periodic", label_zh=fee.name, label_en=fee.name, fen=fee.month_fen,
                              detail_zh=detail.zh, detail_en=detail.en))
    if breakdown.unpriced_count:
        label = catalog_label("fees.cost.unpriced")
        detail = catalog_sentence("fees.cost.payments", count=_per_month(breakdown.unpriced_count, months),
                                  yuan=format_yuan(_per_month(breakdown.unpriced_amount_fen, months)))
        lines.append(CostLine(name="unpriced", label_zh=label.zh, label_en=label.en, fen=0, detail_zh=detail.zh,
                              detail_en=detail.en))
    return lines


def _deposit_out(outcome: pricing.DepositOutcome | None) -> DepositOut | None:
    if outcome is None:
        return None
    deposit = outcome.deposit
    said = catalog_sentence("fees.cost.deposit_refunded" if outcome.refunded else "fees.cost.deposit_kept",
                            yuan=format_yuan(deposit.fen), volume=format_yuan(deposit.refund_volume_fen),
                            days=deposit.within_days, reached=format_yuan(outcome.volume_within_days_fen))
    return DepositOut(fen=deposit.fen, refunded=outcome.refunded, refund_volume_fen=deposit.refund_volume_fen,
                      within_days=deposit.within_days, volume_within_days_fen=outcome.volume_within_days_fen,
                      condition_zh=said.zh, condition_en=said.en)


def _regulated(priced: PricedMix, merchant_class: MerchantClass, on: date) -> RegulatedOut:
    """The regulated ceilings (issuer fee, the acquirer's half of the network fee) on the mix's card payments."""
    totals: dict[str, int] = defaultdict(int)
    entries = {}
    for volume in priced.mix.volumes:
        if volume.channel is not Channel.CARD:
            continue
        for bucket in volume.buckets:
            for fee in regulated_fee(bucket.amount_fen_each, volume.card_type, on, merchant_class):
                totals[fee.component.id] += fee.fee_fen * bucket.count
                entries[fee.component.id] = fee.component
    lines = []
    for component_id, total in totals.items():
        entry = entries[component_id]
        label = catalog_label(f"fees.component.{entry.component.value}")
        kind = catalog_label(f"fees.payment.card.{entry.card_type.value}")
        lines.append(RegulatedLine(component=component_id, label_zh=f"{label.zh}（{kind.zh}）",
                                   label_en=f"{label.en} ({kind.en})", rate_bp=str(entry.rate_bp),
                                   cap_fen=entry.cap_fen, fen=_per_month(total, priced.months), source=entry.source,
                                   confidence=entry.confidence.value))
    note = catalog_label("fees.cost.regulated_note")
    return RegulatedOut(on=on, merchant_class=merchant_class, month_fen=sum(line.fen for line in lines),
                        lines=lines, note_zh=note.zh, note_en=note.en)


def _cost_out(row: FeeRateCard, breakdown: pricing.CostBreakdown, priced: PricedMix,
              merchant_class: MerchantClass, on: date) -> CostOut:
    return CostOut(card=_card_out(row, on), month_fen=breakdown.month_total_fen, year_fen=breakdown.year_total_fen,
                   effective_rate=None if breakdown.effective_rate is None else str(breakdown.effective_rate),
                   lines=_cost_lines(breakdown, priced.months), deposit=_deposit_out(breakdown.deposit),
                   regulated=_regulated(priced, merchant_class, on),
                   unpriced_count=breakdown.unpriced_count // priced.factor)


def merchant_cost(db: Database, principal: Principal, merchant_id: int, card_id: int | None = None) -> CostOut:
    """What a card (the merchant's contract card by default) costs the merchant for its mix."""
    require_role(principal, *MERCHANT_READERS)
    with db.transaction() as session:
        merchant = _merchant(session, principal, merchant_id)
        contract = session.get(FeeContract, merchant_id)
        if card_id is None and contract is None:
            raise NotFound(key="fees.error.no_contract")
        row = _load_card(session, card_id if card_id is not None else contract.rate_card_id)  # type: ignore[union-attr]
        priced = _mix(session, merchant, None)
        on = today(merchant.time_zone)
        breakdown = pricing.cost(_pricing_card(row), priced.mix, priced.months)
        merchant_class = MerchantClass(contract.merchant_class) if contract else MerchantClass(row.merchant_class)
        return _cost_out(row, breakdown, priced, merchant_class, on)


def _nice_top(volume_fen: int) -> int:
    """The first of 1, 2, 5 × 10ⁿ 元 at or above ``volume_fen``, the chart's right end."""
    step = 100
    while True:
        for multiple in (1, 2, 5):
            if step * multiple >= volume_fen:
                return step * multiple
        step *= 10


def compare_cards(db: Database, principal: Principal, merchant_id: int) -> ComparisonOut:
    """Every card in force for the merchant's class priced on its mix, cheapest first, with the cost curve
    against monthly volume and the volumes where the cheapest card changes; the contract card always shown."""
    require_role(principal, *MERCHANT_READERS)
    with db.transaction() as session:
        merchant = _merchant(session, principal, merchant_id)
        contract = session.get(FeeContract, merchant_id)
        merchant_class = MerchantClass(contract.merchant_class) if contract else MerchantClass.STANDARD
        on = today(merchant.time_zone)
        rows = [row for row in session.scalars(select(FeeRateCard).where(
                    FeeRateCard.merchant_class == merchant_class).order_by(FeeRateCard.id))
                if row.valid_from <= on and (row.valid_to is None or on <= row.valid_to)]
        if contract is not None and contract.rate_card_id not in {row.id for row in rows}:
            rows.append(_load_card(session, contract.rate_card_id))
        priced = _mix(session, merchant, None)
        pairs = [(row, _pricing_card(row)) for row in rows]
        by_card = {id(card): row for row, card in pairs}
        costs = [_cost_out(by_card[id(b.card)], b, priced, merchant_class, on)
                 for b in pricing.compare([card for _, card in pairs], priced.mix, priced.months)]
        curve, crossed = CurveOut(volumes_fen=[], series=[]), []
        if priced.mix.volume_fen:
            whole = [card for _, card in pairs if not pricing.cost(card, priced.mix).unpriced_count]
            crossed = list(pricing.crossings(whole, priced.mix))
            top = _nice_top(max([2 * priced.out.month_volume_fen, *(c.volume_fen * 5 // 4 for c in crossed)]))
            volumes = [top * n // CURVE_POINTS for n in range(CURVE_POINTS + 1)]
            series = pricing.cost_curve(whole, priced.mix, volumes)
            curve = CurveOut(volumes_fen=volumes, series=[
                SeriesOut(card_id=by_card[id(s.card)].id, label=_card_label(by_card[id(s.card)]).zh,
                          label_en=_card_label(by_card[id(s.card)]).en, month_fen=list(s.month_fen)) for s in series])
        return ComparisonOut(
            mix=priced.out, costs=costs, curve=curve,
            crossings=[CrossingOut(volume_fen=c.volume_fen, from_card_id=by_card[id(c.below)].id,
                                   to_card_id=by_card[id(c.above)].id) for c in crossed],
            current_card_id=contract.rate_card_id if contract else None)


# checks and flags --------------------------------------------------------------------------------------------


def _flag_out(flag: FeeFlag) -> FlagOut:
    detail = flag.detail or {}
    said = catalog_sentence(str(detail.get("key")), **(detail.get("values") or {}))
    return FlagOut(id=flag.id, merchant_id=flag.merchant_id, terminal_id=flag.terminal_id, kind=FlagKind(flag.kind),
                   detail_zh=said.zh, detail_en=said.en, amount_fen=flag.amount_fen, seen_at=flag.seen_at,
                   status=FlagStatus(flag.status), closed_by=flag.closed_by, closed_at=flag.closed_at,
                   note=flag.note)


def _flag_state(flag: FeeFlag) -> dict[str, Any]:
    return {"kind": flag.kind, "merchant_id": flag.merchant_id, "terminal_id": flag.terminal_id,
            "subject": flag.subject, "amount_fen": flag.amount_fen, "status": flag.status, "detail": flag.detail}


def _lock_contract(session: Session, merchant_id: int) -> FeeContract | None:
    """The merchant's contract, locked: two checks of one merchant at once run one after the other."""
    return session.scalar(select(FeeContract).where(FeeContract.merchant_id == merchant_id).with_for_update())


def _add_flag(session: Session, principal: Principal, flag: FeeFlag) -> FeeFlag:
    session.add(flag)
    session.flush()
    audit.record(session, principal, AuditEntity.FEE_FLAG, flag.id, "create", after=_flag_state(flag))
    return flag


def _check_overcharges(session: Session, principal: Principal, contract: FeeContract, *,
                       statement_id: int | None = None) -> list[FeeFlag]:
    """Flag each statement line charged more than the contract card allows (tolerance 1 fen), once per line."""
    card = _pricing_card(_load_card(session, contract.rate_card_id))
    query = (select(FeeStatementLine).join(FeeStatement, FeeStatement.id == FeeStatementLine.statement_id)
             .where(FeeStatement.merchant_id == contract.merchant_id)
             .where(~select(FeeFlag.id).where(FeeFlag.statement_line_id == FeeStatementLine.id,
                                              FeeFlag.kind == FlagKind.OVERCHARGE).exists())
             .order_by(FeeStatementLine.id))
    if statement_id is not None:
        query = query.where(FeeStatementLine.statement_id == statement_id)
    added = []
    for line in session.scalars(query):
        channel, card_type = Channel(line.channel), CardType(line.card_type)
        payment = pricing.Transaction(channel, priced_card_type(channel, card_type), line.amount_fen)
        if card.rate_for(payment.channel, payment.card_type, payment.amount_fen) is None:
            continue  # the card does not price this payment: nothing to hold the charge against
        excess = pricing.overcharge(card, payment, line.charged_fen, TOLERANCE_FEN)
        if not excess:
            continue
        expected = line.charged_fen - excess
        kind = _payment_label(channel, card_type)
        added.append(_add_flag(session, principal, FeeFlag(
            kind=FlagKind.OVERCHARGE, merchant_id=contract.merchant_id, subject=f"line:{line.id}",
            statement_line_id=line.id, amount_fen=excess, status=FlagStatus.OPEN, seen_at=utcnow(),
            created_by=principal.username,
            detail={"key": "fees.flag.overcharge", "values": {
                "day": line.day.isoformat(), "line": line.line, "payment_zh": kind.zh, "payment_en": kind.en,
                "amount": format_yuan(line.amount_fen), "charged": format_yuan(line.charged_fen),
                "expected": format_yuan(expected), "excess": format_yuan(excess)}})))
    return added


def _check_mccs(session: Session, principal: Principal, contract: FeeContract) -> list[FeeFlag]:
    """Flag each terminal whose last 30 days of traffic used an MCC other than the registered one (跳码 risk)."""
    seen: dict[tuple[int, str], int] = defaultdict(int)
    tids: dict[int, str] = {}
    since = utcnow() - timedelta(days=TRAFFIC_DAYS)
    for record in _traffic_records(session, contract.merchant_id, since):
        summary = record.summary or {}
        mccs = summary.get("mccs") or {}
        found = [(str(mcc), _whole(count)) for mcc, count in mccs.items()] if isinstance(mccs, dict) else []
        # codes past the analysis' limit of distinct ones are unnamed, but none of them is a kept one: foreign
        found.append((OTHER_MCCS, _whole(summary.get("mccs_other"))))
        for mcc, count in found:
            if count and mcc != contract.registered_mcc and (mcc == OTHER_MCCS or (len(mcc) == 4 and mcc.isdigit())):
                seen[(record.terminal_id, mcc)] += count
                tids[record.terminal_id] = record.tid
    existing = set(session.scalars(select(FeeFlag.subject).where(
        FeeFlag.merchant_id == contract.merchant_id, FeeFlag.kind == FlagKind.MCC_MISMATCH)))
    serials = dict(session.execute(select(Terminal.id, Terminal.serial_number)
                                   .where(Terminal.id.in_({t for t, _ in seen}))).all())
    added = []
    for (terminal_id, mcc), count in sorted(seen.items()):
        subject = f"mcc:{terminal_id}:{mcc}"
        if subject in existing:
            continue
        added.append(_add_flag(session, principal, FeeFlag(
            kind=FlagKind.MCC_MISMATCH, merchant_id=contract.merchant_id, terminal_id=terminal_id, subject=subject,
            status=FlagStatus.OPEN, seen_at=utcnow(), created_by=principal.username,
            detail={"key": "fees.flag.mcc_others" if mcc == OTHER_MCCS else "fees.flag.mcc_mismatch", "values": {
                "serial": serials.get(terminal_id, ""), "tid": tids[terminal_id], "count": count, "mcc": mcc,
                "registered": contract.registered_mcc}})))
    return added


def check_merchant(db: Database, principal: Principal, merchant_id: int) -> list[FlagOut]:
    """Run both checks on a merchant (desk, risk): statement lines against the contract card (overcharges) and
    its traffic's MCCs against the registered one (跳码 risk); store the new flags, audited, and return them.

    A flag is unique per kind, merchant and what it is about, so a second run adds nothing.
    """
    require_role(principal, *CHECKERS)
    with db.transaction() as session:
        _merchant(session, principal, merchant_id)
        contract = _lock_contract(session, merchant_id)
        if contract is None:
            raise Conflict(key="fees.error.no_contract_to_check")
        added = [*_check_overcharges(session, principal, contract), *_check_mccs(session, principal, contract)]
        return [_flag_out(flag) for flag in added]


def list_flags(db: Database, principal: Principal, *, kind: FlagKind | None = None,
               status: FlagStatus | None = FlagStatus.OPEN, merchant_id: int | None = None,
               limit: int = MAX_FLAGS) -> list[FlagOut]:
    """Flags, newest first (``status=None``: open and closed); a merchant sees its own overcharges only."""
    require_role(principal, *FLAG_READERS)
    if principal.is_merchant and kind not in (None, FlagKind.OVERCHARGE):
        return []
    with db.transaction() as session:
        query = scoped(select(FeeFlag), principal, FeeFlag.merchant_id)
        if principal.is_merchant:
            query = query.where(FeeFlag.kind == FlagKind.OVERCHARGE)
        if kind is not None:
            query = query.where(FeeFlag.kind == kind)
        if status is not None:
            query = query.where(FeeFlag.status == status)
        if merchant_id is not None:
            query = query.where(FeeFlag.merchant_id == merchant_id)
        rows = session.scalars(query.order_by(FeeFlag.seen_at.desc(), FeeFlag.id.desc()).limit(min(limit, MAX_FLAGS)))
        return [_flag_out(flag) for flag in rows]


def close_flag(db: Database, principal: Principal, flag_id: int, data: FlagCloseIn) -> FlagOut:
    """Close an open flag saying what was done, audited: the desk any flag, risk its MCC flags."""
    require_role(principal, *CHECKERS)
    with db.transaction() as session:
        flag = session.scalar(select(FeeFlag).where(FeeFlag.id == flag_id).with_for_update())
        if flag is None:
            raise NotFound(key="fees.error.flag_not_found")
        if principal.role is Role.RISK and flag.kind != FlagKind.MCC_MISMATCH:
            raise Forbidden(key="fees.error.not_your_flag")
        if flag.status != FlagStatus.OPEN:
            raise Conflict(key="fees.error.flag_closed")
        before = _flag_state(flag)
        flag.status, flag.closed_by, flag.closed_at, flag.note = (FlagStatus.CLOSED, principal.username, utcnow(),
                                                                  data.note)
        session.flush()
        audit.record(session, principal, AuditEntity.FEE_FLAG, flag.id, "close", before=before,
                     after=_flag_state(flag), reason=data.note)
        return _flag_out(flag)
