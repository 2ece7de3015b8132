"""`posops fees …`: rate cards, the example cards, a merchant's contract, statements, the comparison and checks.

Commands that change something act as a named user (``--as``); reading commands look as the
operator unless ``--as`` says otherwise. ``--json`` prints what the API would return. Money is
shown in 元 with two decimals, computed from whole fen.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from posops.core.auth import OPERATOR, Principal
from posops.core.cli import acting_as, fail, migrated_database, use_case_errors
from posops.core.config import get_settings
from posops.core.db import Database
from posops.core.errors import Invalid
from posops.core.forms import validated
from posops.fees import service
from posops.fees.regulation import MerchantClass
from posops.fees.schemas import ComparisonOut, ContractIn, FlagOut, RateCardIn, RateCardOut
from posops.fees.service import percent
from posops.terminals.arrears import format_yuan

fees_app = typer.Typer(help="手续费 / Fees: rate cards, a merchant's cost, the comparison of offers, checks.",
                       no_args_is_help=True)
cards_app = typer.Typer(help="费率方案 / Rate cards: list and add.", no_args_is_help=True)
examples_app = typer.Typer(help="示例费率方案 / The example rate cards.", no_args_is_help=True)
statement_app = typer.Typer(help="对账单 / Statements: import.", no_args_is_help=True)
fees_app.add_typer(cards_app, name="cards")
fees_app.add_typer(examples_app, name="examples")
fees_app.add_typer(statement_app, name="statement")
console = Console()

ActAs = Annotated[str, typer.Option("--as", help="以该用户身份操作(其角色决定权限) / the user to act as "
                                                 "(their role decides what is allowed)")]
LookAs = Annotated[str, typer.Option("--as", help="以该用户身份查看 / the user to look as (default: the operator)")]
AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")]
MerchantOption = Annotated[int, typer.Option("--merchant", min=1, help="商户编号 / the merchant's id")]
MAX_CARD_FILE = 1024 * 1024


def _viewer(db: Database, as_user: str) -> Principal:
    return acting_as(db, as_user) if as_user else OPERATOR


def _print_json(value: BaseModel | list[Any]) -> None:
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    else:
        text = json.dumps([v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value],
                          ensure_ascii=False, indent=2)
    sys.stdout.write(text + "\n")


def _card_name(card: RateCardOut) -> str:
    example = " (example)" if card.is_example else ""
    return f"{card.provider} · {card.product.value}{example}"


def _rates(card: RateCardOut) -> str:
    parts = []
    for rate in card.rates:
        text = f"{rate.channel}/{rate.card_type} {percent(Decimal(rate.rate_bp))}%"
        if rate.threshold_fen is not None:
            text += f" ≤{format_yuan(rate.threshold_fen)}"
        if rate.cap_fen is not None:
            text += f" cap {format_yuan(rate.cap_fen)}"
        parts.append(text)
    return "; ".join(parts)


# rate cards --------------------------------------------------------------------------------------------------


@cards_app.command("list")
def cards_list(include_expired: Annotated[bool, typer.Option("--all", help="含已过期 / include expired cards")] = False,
               as_user: LookAs = "", as_json: AsJson = False) -> None:
    """列出费率方案 / List rate cards offered today (examples are marked)."""
    db = migrated_database()
    with use_case_errors():
        cards = service.list_rate_cards(db, _viewer(db, as_user), include_expired=include_expired)
    if as_json:
        _print_json(cards)
        return
    table = Table("#", "card", "class", "rates", "valid", "source")
    for card in cards:
        valid = f"{card.valid_from} – {card.valid_to or ''}"
        table.add_row(str(card.id), _card_name(card), card.merchant_class.value, _rates(card), valid,
                      f"{card.source[:40]} ({card.source_date})")
    console.print(table)
    console.print(f"{len(cards)} card(s); example cards are not any provider's real offer")


def _read_cards(file: Path) -> list[RateCardIn]:
    """The cards of a JSON or YAML file: one card, a list of cards, or ``{"cards": [...]}``; exit 2 when bad."""
    if file.stat().st_size > MAX_CARD_FILE:
        raise fail(f"{file.name} is larger than {MAX_CARD_FILE // 1024} KiB")
    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise fail(f"{file.name} is not valid {'JSON' if file.suffix.lower() == '.json' else 'YAML'}: {exc}") \
            from None
    items = data.get("cards") if isinstance(data, dict) and "cards" in data else data
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
        raise fail(f"{file.name} must hold a rate card, a list of them, or a mapping with a `cards` list")
    cards = []
    for index, item in enumerate(items, start=1):
        try:
            cards.append(validated(RateCardIn, item))
        except Invalid as exc:
            raise fail(f"card {index} of {file.name}: {exc.message}") from None
    return cards


@cards_app.command("add")
def cards_add(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                                   help="费率方案文件(JSON 或 YAML) / a JSON or YAML file of cards")],
              as_user: ActAs, as_json: AsJson = False) -> None:
    """添加费率方案 / Add the rate cards of a file; cards already stored (same provider, product, class and first
    day) are skipped."""
    cards = _read_cards(file)
    db = migrated_database()
    with use_case_errors():
        stored, skipped = service.load_cards(db, acting_as(db, as_user), cards)
    if as_json:
        _print_json(stored)
        return
    for card in stored:
        console.print(f"added rate card #{card.id}: {_card_name(card)}", highlight=False)
    console.print(f"{len(stored)} added, {skipped} already stored")


@examples_app.command("load")
def examples_load(as_user: ActAs) -> None:
    """载入示例费率方案 / Load the example rate cards, labelled as examples (not any provider's real offer)."""
    db = migrated_database()
    with use_case_errors():
        stored, skipped = service.load_example_cards(db, acting_as(db, as_user))
    for card in stored:
        console.print(f"loaded example card #{card.id}: {_card_name(card)}", highlight=False)
    console.print(f"{len(stored)} example card(s) loaded, {skipped} already there; examples are labelled as such "
                  "and are not any provider's real offer")


# a merchant --------------------------------------------------------------------------------------------------


@fees_app.command("contract")
def contract(merchant: MerchantOption,
             card: Annotated[int, typer.Option("--card", min=1, help="费率方案编号 / the rate card's id")],
             mcc: Annotated[str, typer.Option("--mcc", help="登记的商户类别码 / the registered MCC, e.g. 5411")],
             as_user: ActAs,
             merchant_class: Annotated[MerchantClass, typer.Option("--class", help="商户类别 / merchant class")] =
             MerchantClass.STANDARD) -> None:
    """设置商户签约费率 / Put a merchant on a rate card with its class and registered MCC."""
    db = migrated_database()
    with use_case_errors():
        data = validated(ContractIn, {"rate_card_id": card, "merchant_class": merchant_class, "registered_mcc": mcc})
        out = service.set_contract(db, acting_as(db, as_user), merchant, data)
    console.print(f"merchant {out.merchant_id} is on card #{out.rate_card_id} ({_card_name(out.card)}), "
                  f"{out.merchant_class.value}, MCC {out.registered_mcc}", highlight=False)


@statement_app.command("import")
def statement_import(merchant: Annotated[int, typer.Argument(min=1, help="商户编号 / the merchant's id")],
                     file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                                          help="对账单 CSV / the statement CSV")],
                     as_user: ActAs, as_json: AsJson = False) -> None:
    """导入对账单 / Import a statement CSV (date, channel, card_type, amount_fen or amount, charged_fen or
    charged); every bad row is named with its line and nothing is stored."""
    with file.open("rb") as handle:
        content = handle.read(service.STATEMENT_MAX_BYTES + 1)
    db = migrated_database()
    with use_case_errors():
        statement = service.import_statement(db, acting_as(db, as_user), merchant, content, source_name=file.name,
                                             max_rows=get_settings().import_max_rows)
    if as_json:
        _print_json(statement)
        return
    console.print(f"statement #{statement.id}: {statement.line_count} line(s) {statement.first_date} – "
                  f"{statement.last_date}, {format_yuan(statement.amount_fen)} 元 charged "
                  f"{format_yuan(statement.charged_fen)} 元",
                  highlight=False)
    if statement.overcharged_lines:
        console.print(f"{statement.overcharged_lines} line(s) overcharged by "
                      f"{format_yuan(statement.overcharge_fen)} 元 in all (see `posops fees flags`)",
                      style="bold red", highlight=False)


def _comparison_table(comparison: ComparisonOut) -> Table:
    table = Table("rank", "card", "month 元", "year 元", "effective", "deposit", "")
    for rank, cost in enumerate(comparison.costs, start=1):
        effective = "—" if cost.effective_rate is None else \
            f"{percent(Decimal(cost.effective_rate) * 10_000)}%"
        deposit = "—" if cost.deposit is None else \
            f"{format_yuan(cost.deposit.fen)} {'refunded' if cost.deposit.refunded else 'KEPT'}"
        notes = []
        if cost.card.id == comparison.current_card_id:
            notes.append("current")
        if cost.unpriced_count:
            notes.append(f"cannot take {cost.unpriced_count} payment(s)")
        table.add_row(str(rank), _card_name(cost.card), format_yuan(cost.month_fen), format_yuan(cost.year_fen),
                      effective, deposit, ", ".join(notes))
    return table


@fees_app.command("compare")
def compare(merchant: MerchantOption, as_user: LookAs = "", as_json: AsJson = False) -> None:
    """比较费率方案 / Every card in force priced on the merchant's own mix, cheapest first, and the monthly
    volumes where the cheapest card changes."""
    db = migrated_database()
    with use_case_errors():
        comparison = service.compare_cards(db, _viewer(db, as_user), merchant)
    if as_json:
        _print_json(comparison)
        return
    mix = comparison.mix
    console.print(f"merchant {merchant}: mix from {mix.source.value}, {mix.count} payment(s) of "
                  f"{format_yuan(mix.volume_fen)} 元 over {mix.period_days} day(s), about "
                  f"{format_yuan(mix.month_volume_fen)} 元 a month", highlight=False)
    if mix.unknown_count:
        console.print(f"{mix.unknown_count} card payment(s) of unknown type priced as credit", highlight=False)
    console.print(_comparison_table(comparison))
    names = {cost.card.id: _card_name(cost.card) for cost in comparison.costs}
    for crossing in comparison.crossings:
        console.print(f"at {format_yuan(crossing.volume_fen)} 元 a month the cheapest changes from "
                      f"{names[crossing.from_card_id]} to {names[crossing.to_card_id]}", highlight=False)
    if not comparison.crossings and comparison.costs:
        console.print("the cheapest card stays the same at every monthly volume of this mix")


def _flags_table(flags: list[FlagOut]) -> Table:
    table = Table("#", "kind", "terminal", "amount 元", "detail")
    for flag in flags:
        table.add_row(str(flag.id), flag.kind.value, str(flag.terminal_id or "—"),
                      "—" if flag.amount_fen is None else format_yuan(flag.amount_fen), flag.detail_en)
    return table


@fees_app.command("check")
def check(merchant: MerchantOption, as_user: ActAs, as_json: AsJson = False) -> None:
    """核对手续费与商户类别码 / Check a merchant's statement charges against its contract card (overcharges) and
    its traffic's MCCs against the registered one (跳码 risk); prints the new flags."""
    db = migrated_database()
    with use_case_errors():
        flags = service.check_merchant(db, acting_as(db, as_user), merchant)
    if as_json:
        _print_json(flags)
        return
    if flags:
        console.print(_flags_table(flags))
    console.print(f"{len(flags)} new flag(s)")


@fees_app.command("flags")
def flags_list(as_user: LookAs = "", as_json: AsJson = False,
               merchant: Annotated[int | None, typer.Option("--merchant", min=1, help="只看该商户 / one merchant")]
               = None) -> None:
    """列出核对提示 / List the open flags (overcharges, MCC mismatches)."""
    db = migrated_database()
    with use_case_errors():
        flags = service.list_flags(db, _viewer(db, as_user), merchant_id=merchant)
    if as_json:
        _print_json(flags)
        return
    console.print(_flags_table(flags))
    console.print(f"{len(flags)} open flag(s)")
