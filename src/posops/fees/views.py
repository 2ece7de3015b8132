"""Console pages of fees: a merchant's 我的费用 and 比较方案, the desk's rate cards and the 跳码 / overcharge flags.

A merchant sees its own cost, mix and offers; the desk (agent, risk, admin …) reaches the same pages for any
merchant with ``?merchant_id=``, as the other desk pages do. Forms post to ``/fees/...`` and answer 303 to
the page they belong to, or show that page again with the refusal (lines of a statement named) in the
viewer's language. Money is shown in 元 from integer fen; nothing here is a float but the chart's geometry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from posops.core.auth import Principal, Role, require_role
from posops.core.deps import DbDep, PageNumber
from posops.core.errors import Invalid, PosopsError, Problem, field_label
from posops.core.forms import Refusal, refusal, validated
from posops.core.i18n import catalog, translate
from posops.core.inputs import FormText, Id, Word
from posops.core.web import CONSOLE_PER_PAGE, PageUser, check_csrf, page_lang, render, template_vocabulary
from posops.fees import service as fees
from posops.fees.pricing import Channel, Period, Product
from posops.fees.regulation import CardType, MerchantClass
from posops.fees.schemas import (
    ComparisonOut,
    ContractIn,
    FlagCloseIn,
    FlagKind,
    FlagOut,
    FlagStatus,
    MixOut,
    MixSource,
    RateCardIn,
    RateCardOut,
    VolumesIn,
)
from posops.telemetry.charts import SERIES_COLOURS
from posops.terminals.arrears import format_yuan

router = APIRouter(include_in_schema=False)
template_vocabulary(FlagKind, FlagStatus)
Field = Annotated[FormText, Form()]
MAX_ROWS = 24
"""The most rows of one kind (rates, surcharges, periodic fees, volume lines) a form may post."""
Column = Annotated[list[FormText] | None, Form(max_length=MAX_ROWS)]
"""One column of a form's rows (a rate's channel, say), one value per row."""

DESK_READERS = tuple(role for role in fees.MERCHANT_READERS if role != Role.MERCHANT)
"""Who reaches any merchant's 我的费用 and 比较方案 (``?merchant_id=``)."""
CARD_PAGE_READERS = tuple(role for role in fees.CARD_READERS if role != Role.MERCHANT)
"""Who reads the rate cards page (merchants compare offers on 比较方案 instead)."""
FLAG_PAGE_READERS = tuple(role for role in fees.FLAG_READERS if role != Role.MERCHANT)
"""Who reads the flags list (a merchant sees its own overcharges on 我的费用)."""
RATE_ROWS, SURCHARGE_ROWS, PERIODIC_ROWS = 6, 3, 3
"""Rows the rate card form shows at least: those of the card, then blank ones up to these."""
VOLUME_LINES: tuple[tuple[Channel, CardType], ...] = (
    (Channel.CARD, CardType.DEBIT), (Channel.CARD, CardType.CREDIT), (Channel.QR, CardType.ANY))
"""The lines of the typed-in monthly volumes: debit cards, credit cards, QR payments."""
_FIELD = "fees.page.field."


# money and rates as people read them ----------------------------------------------------------


def yuan(fen: int | None) -> str:
    """Integer fen as 元 with two decimals and thousands separators; '—' for none.

    >>> yuan(123456), yuan(5), yuan(-250), yuan(None)
    ('1,234.56', '0.05', '-2.50', '—')
    """
    return "—" if fen is None else format_yuan(fen)


def yuan_input(fen: int | None) -> str:
    """Fen as a form field shows them in 元: no separators, no trailing zero cents.

    >>> yuan_input(2000), yuan_input(3850), yuan_input(5), yuan_input(None)
    ('20', '38.50', '0.05', '')
    """
    if fen is None:
        return ""
    return str(fen // 100) if fen % 100 == 0 else f"{fen // 100}.{fen % 100:02d}"


def percent(rate: str | Decimal | None) -> str:
    """An effective rate (a fraction, as the service gives it) as a percentage to a thousandth of a percent.

    >>> percent("0.005420"), percent(Decimal("0.0038")), percent(None)
    ('0.542%', '0.380%', '—')
    """
    if rate is None or rate == "":
        return "—"
    return f"{(Decimal(str(rate)) * 100).quantize(Decimal('0.001'))}%"


def share(part: int, whole: int) -> str:
    """A part's share of a whole, to a tenth of a percent; '—' of nothing.

    >>> share(4_800_00, 9_983_50), share(1, 3), share(5, 0)
    ('48.1%', '33.3%', '—')
    """
    if not whole:
        return "—"
    return f"{(Decimal(part) * 100 / whole).quantize(Decimal('0.1'))}%"


def bp_percent(rate_bp: str) -> str:
    """Basis points (万分之一, a decimal string) as the percentage people quote.

    >>> bp_percent("60"), bp_percent("3.25"), bp_percent("38")
    ('0.60%', '0.0325%', '0.38%')
    """
    value = Decimal(rate_bp) / 100
    places = max(2, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{value:.{places}f}%"


def compact_yuan(fen: int, lang: str) -> str:
    """A chart axis amount: 元 in 万 (zh-CN) or thousands (en), short enough for a phone.

    >>> compact_yuan(5_500_000, "zh-CN"), compact_yuan(5_500_000, "en"), compact_yuan(90_000, "zh-CN")
    ('5.5万', '55k', '900')
    """
    amount = Decimal(fen) / 100
    if lang != "en" and amount >= 10_000:
        return f"{(amount / 10_000).quantize(Decimal('0.1')).normalize():f}万"
    if lang == "en" and amount >= 1_000:
        return f"{(amount / 1_000).quantize(Decimal('0.1')).normalize():f}k"
    return f"{amount.quantize(Decimal(1)):f}"


def read_fen(text: str, name: str, *, required: bool = False) -> int | None:
    """A form's amount in 元 (at most two decimals, separators allowed) as fen; None when left empty."""
    cleaned = text.replace(",", "").replace("，", "").replace("元", "").strip()
    if not cleaned:
        if required:
            raise Invalid(name, key="fees.page.error.amount_needed")
        return None
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise Invalid(name, key="fees.page.error.amount") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise Invalid(name, key="fees.page.error.amount")
    return int(amount * 100)


# refusals -------------------------------------------------------------------------------------


def _field_text(name: str, lang: str) -> str:
    parts = [p for p in name.split(".") if not p.isdigit()]
    last = parts[-1] if parts else name
    key = _FIELD + last
    return translate(key, lang) if key in catalog() else field_label(last).text(lang)


def _row_of(name: str) -> int | None:
    numbers = [p for p in name.split(".") if p.isdigit()]
    return int(numbers[0]) + 1 if numbers else None


def problem_text(problem: Problem, lang: str, *, rows: bool = False) -> str:
    """One refused field in the page's language: the statement's line or the form's row, the field, the reason."""
    reason = problem.reason.text(lang).rstrip("。.")
    name = _field_text(problem.field, lang)
    where = ""
    if problem.line is not None:
        where = translate("forms.line", lang, line=problem.line)
    elif rows and _row_of(problem.field) is not None:
        where = translate("fees.page.row", lang, row=_row_of(problem.field))
    return f"{where}{name}: {reason}" if lang == "en" else f"{where}{name}：{reason}"


def form_refusal(exc: PosopsError, lang: str, *, rows: bool = False) -> Refusal:
    """Why a fees form was refused, each problem on its own line (a statement's by line number)."""
    if not isinstance(exc, Invalid):
        return refusal(exc, lang)
    said = list(dict.fromkeys(problem_text(p, lang, rows=rows) for p in exc.problems))
    return Refusal(said[0] if len(said) == 1 else translate("fees.page.refused", lang, count=len(said)),
                   said if len(said) > 1 else [], exc.status)


# the chart of cost against monthly volume -----------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 360, 210
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 44, 12, 10, 24
PALETTE = (SERIES_COLOURS["line"], SERIES_COLOURS["bad"], SERIES_COLOURS["ok"], SERIES_COLOURS["warn"],
           "#7a5af8", "#0e9384", "#dd2590", SERIES_COLOURS["muted"])
"""One colour per card, in the order cards are listed (fees-pages.css's fee-c0 … fee-c7 are the same)."""


@dataclass(frozen=True)
class ChartLine:
    """One card's line on the chart: its colour's index, its name, its month cost at each volume."""

    card_id: int
    label: str
    colour: int
    month_fen: Sequence[int]
    current: bool = False


def cost_chart(volumes_fen: Sequence[int], lines: Sequence[ChartLine], *, marks: Sequence[int] = (),
               own_volume_fen: int | None = None, label: str, own_label: str = "", lang: str = "zh-CN",
               empty_text: str = "—") -> str:
    """An SVG chart of month cost (y) against monthly volume (x), one line per card, crossings marked.

    ``marks`` are the crossing volumes, drawn as numbered dashed lines (①, ②, … as the list under the chart
    says them); ``own_volume_fen`` the merchant's own monthly volume, drawn solid.

    >>> svg = cost_chart([0, 100_000, 200_000], [ChartLine(1, "A", 0, [100, 700, 1300]),
    ...                  ChartLine(2, "B", 1, [400, 800, 1200], current=True)], marks=[150_000], label="cost")
    >>> svg.count("<polyline"), 'data-card="2"' in svg, "①" in svg
    (2, True, True)
    """
    plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    x_max = max([*volumes_fen, own_volume_fen or 0, 1])
    y_max = nice_ceiling(max([v for line in lines for v in line.month_fen] + [100]))

    def x(volume: int) -> float:
        return CHART_LEFT + plot_w * min(max(volume / x_max, 0.0), 1.0)

    def y(fen: int) -> float:
        return CHART_TOP + plot_h * (1 - min(max(fen / y_max, 0.0), 1.0))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" '
             f'aria-label="{escape(label)}" class="chart fee-chart">', f"<title>{escape(label)}</title>",
             f'<rect x="{CHART_LEFT}" y="{CHART_TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" '
             f'stroke="#e4e7ec"/>']
    for fraction in (0.0, 0.5, 1.0):
        fen = int(y_max * fraction)
        parts.append(f'<line x1="{CHART_LEFT}" x2="{CHART_LEFT + plot_w}" y1="{y(fen):.1f}" y2="{y(fen):.1f}" '
                     f'stroke="#e4e7ec"/><text x="{CHART_LEFT - 4}" y="{y(fen) + 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#667085">{escape(compact_yuan(fen, lang))}</text>')
        if fraction:  # the y axis already says 0 at the corner
            anchor = "middle" if fraction < 1 else "end"
            parts.append(f'<text x="{CHART_LEFT + plot_w * fraction:.1f}" y="{CHART_HEIGHT - 8}" font-size="10" '
                         f'text-anchor="{anchor}" fill="#667085">{escape(compact_yuan(int(x_max * fraction), lang))}'
                         f"</text>")
    if own_volume_fen:
        own_anchor = "end" if x(own_volume_fen) > CHART_LEFT + plot_w * 0.7 else "start"
        parts.append(f'<line x1="{x(own_volume_fen):.1f}" x2="{x(own_volume_fen):.1f}" y1="{CHART_TOP}" '
                     f'y2="{CHART_TOP + plot_h}" stroke="#1d2433" stroke-width="1" data-testid="own-volume"/>'
                     f'<text x="{min(x(own_volume_fen) + 3, CHART_LEFT + plot_w - 2):.1f}" y="{CHART_TOP + 24}" '
                     f'font-size="9" text-anchor="{own_anchor}" fill="#1d2433">{escape(own_label)}</text>')
    for number, volume in enumerate(marks, 1):
        parts.append(f'<line x1="{x(volume):.1f}" x2="{x(volume):.1f}" y1="{CHART_TOP}" y2="{CHART_TOP + plot_h}" '
                     f'stroke="#667085" stroke-dasharray="4 3" data-testid="crossing-mark"/>'
                     f'<text x="{x(volume):.1f}" y="{CHART_TOP + 12}" font-size="11" text-anchor="middle" '
                     f'fill="#1d2433">{circled(number)}</text>')
    for line in lines:
        colour = PALETTE[line.colour % len(PALETTE)]
        coords = " ".join(f"{x(v):.1f},{y(c):.1f}" for v, c in zip(volumes_fen, line.month_fen, strict=False))
        width = "3" if line.current else "1.8"
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="{width}" '
                     f'stroke-linejoin="round" data-card="{line.card_id}"><title>{escape(line.label)}</title>'
                     f"</polyline>")
    if not lines or not volumes_fen:
        parts.append(f'<text x="{CHART_LEFT + plot_w / 2}" y="{CHART_TOP + plot_h / 2}" font-size="12" '
                     f'text-anchor="middle" fill="#667085">{escape(empty_text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


NICE_STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)


def nice_ceiling(fen: int) -> int:
    """The chart's top: the first of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ 元 at or above ``fen``, in fen.

    >>> nice_ceiling(628_700), nice_ceiling(100), nice_ceiling(1_000_001)
    (800000, 100, 1500000)
    """
    scale = 100
    while scale * 10 < fen:
        scale *= 10
    return next(int(scale * step) for step in NICE_STEPS if scale * step >= fen)


def circled(number: int) -> str:
    """①, ②, … for the crossings (up to ⑳; a plain number past it).

    >>> circled(1), circled(20), circled(21)
    ('①', '⑳', '21')
    """
    return chr(0x245F + number) if 1 <= number <= 20 else str(number)


# what the pages show --------------------------------------------------------------------------


def card_title(card: RateCardOut, lang: str) -> str:
    """A card as a list names it: provider · product (· 示例 for an example card)."""
    parts = [card.provider, translate(f"fees.page.product.{card.product}", lang)]
    if card.is_example:
        parts.append(translate("fees.page.example", lang))
    return " · ".join(parts)


@dataclass(frozen=True)
class Crossed:
    """A crossing said for people: its number on the chart, the volume, and the card cheaper above it."""

    number: int
    volume_fen: int
    cheaper: RateCardOut | None
    dearer: RateCardOut | None


@dataclass(frozen=True)
class Comparison:
    """The comparison page's values: the service's answer, the chart and the crossings said for people."""

    result: ComparisonOut
    chart: str
    colours: dict[int, int]
    charted: set[int]
    """The cards with a line on the chart (a card that cannot take every payment has none)."""
    crossed: list[Crossed]
    own_volume_fen: int


def comparison_view(result: ComparisonOut, lang: str) -> Comparison:
    """The chart of every card's month cost against monthly volume and the list of where the cheapest changes."""
    cards = {cost.card.id: cost.card for cost in result.costs}
    colours = {cost.card.id: index for index, cost in enumerate(result.costs)}
    by_id = {series.card_id: series for series in result.curve.series}
    lines = [ChartLine(card_id, card_title(cards[card_id], lang), colours[card_id], by_id[card_id].month_fen,
                      current=card_id == result.current_card_id)
             for card_id in colours if card_id in by_id]
    crossed = [Crossed(number, crossing.volume_fen, cards.get(crossing.to_card_id), cards.get(crossing.from_card_id))
               for number, crossing in enumerate(result.crossings, 1)]
    own = result.mix.month_volume_fen
    chart = cost_chart(result.curve.volumes_fen, lines, marks=[c.volume_fen for c in crossed],
                       own_volume_fen=own or None, lang=lang, label=translate("fees.page.compare.chart", lang),
                       own_label=translate("fees.page.compare.own_volume", lang),
                       empty_text=translate("fees.page.compare.no_curve", lang))
    return Comparison(result, chart, colours, {line.card_id for line in lines}, crossed, own)


def _shared(user: Principal) -> dict[str, Any]:
    return {"yuan": yuan, "percent": percent, "bp_percent": bp_percent, "share": share,
            "desk": user.role != Role.MERCHANT, "editor": user.role in fees.DESK, "checker": user.role in fees.CHECKERS,
            "flag_reader": user.role in FLAG_PAGE_READERS,
            "products": list(Product), "classes": list(MerchantClass), "channels": list(Channel),
            "card_types": list(CardType), "periods": list(Period), "circled": circled}


def _render(request: Request, user: Principal, template: str, context: dict[str, Any],
            status_code: int = 200) -> HTMLResponse:
    return render(request, template, {**_shared(user), **context}, status_code)


def _merchant_of(user: Principal, merchant_id: int | None) -> int | None:
    """The merchant a page is about: a merchant's own unless it names another (the service then refuses)."""
    if merchant_id is not None:
        return merchant_id
    return user.merchant_id if user.is_merchant else None


def _here(user: Principal, merchant_id: int, path: str = "/fees", **query: str) -> str:
    """A fees page's address for this merchant: merchants need no ``merchant_id``, the desk does."""
    values = ({} if user.is_merchant else {"merchant_id": str(merchant_id)}) | {k: v for k, v in query.items() if v}
    return path + ("?" + "&".join(f"{k}={v}" for k, v in values.items()) if values else "")


def _attempt(action: Callable[[], Any]) -> tuple[Any, PosopsError | None]:
    """Run a read the page can do without (no contract, no mix yet): its result, or the refusal to say instead."""
    try:
        return action(), None
    except PosopsError as exc:
        if exc.status in (401, 403):
            raise
        return None, exc


# 我的费用 ---------------------------------------------------------------------------------------


@dataclass
class VolumesForm:
    """The typed-in monthly volumes as typed: per line (channel, card type) its count and amount in 元."""

    counts: list[str] = field(default_factory=lambda: ["" for _ in VOLUME_LINES])
    amounts: list[str] = field(default_factory=lambda: ["" for _ in VOLUME_LINES])

    def rows(self) -> list[tuple[Channel, CardType, str, str]]:
        """Each line with what was typed for it."""
        return [(channel, card_type, self.counts[i] if i < len(self.counts) else "",
                 self.amounts[i] if i < len(self.amounts) else "")
                for i, (channel, card_type) in enumerate(VOLUME_LINES)]

    def data(self) -> VolumesIn:
        """The volumes these fields describe (blank lines left out), or Invalid naming the lines at fault."""
        lines, problems = [], []
        for index, (channel, card_type, count, amount) in enumerate(self.rows()):
            if not count.strip() and not amount.strip():
                continue
            try:
                fen = read_fen(amount, f"lines.{index}.amount_fen", required=True)
            except Invalid as exc:
                problems.extend(exc.problems)
                continue
            lines.append({"channel": channel, "card_type": card_type, "count": count.strip() or None,
                          "amount_fen": fen})
        if problems:
            raise Invalid.many(problems)
        return validated(VolumesIn, {"lines": lines})

    @classmethod
    def of(cls, mix: MixOut | None) -> VolumesForm:
        """The form filled with the typed-in volumes on file (or empty)."""
        form = cls()
        if mix is not None and mix.source == MixSource.TYPED:
            for line in mix.lines:
                key = (Channel(line.channel), CardType(line.card_type))
                if key in VOLUME_LINES:
                    index = VOLUME_LINES.index(key)
                    form.counts[index], form.amounts[index] = str(line.count), yuan_input(line.amount_fen)
        return form


def _contract_form(contract: Any) -> dict[str, str]:
    if contract is None:
        return {"rate_card_id": "", "merchant_class": MerchantClass.STANDARD, "registered_mcc": ""}
    return {"rate_card_id": str(contract.rate_card_id), "merchant_class": str(contract.merchant_class),
            "registered_mcc": contract.registered_mcc}


def _fees_page(request: Request, db: DbDep, user: Principal, merchant_id: int | None, *, done: str = "",
               volumes: VolumesForm | None = None, contract_form: dict[str, str] | None = None,
               refused: Refusal | None = None, refused_in: str = "") -> HTMLResponse:
    if merchant_id is None:  # the desk, before choosing a merchant
        require_role(user, *DESK_READERS)
        return _render(request, user, "fees/choose.html", {"next": "/fees"})
    mix = fees.merchant_mix(db, user, merchant_id)  # a merchant not the caller's to see is a 404 here
    contract, _ = _attempt(lambda: fees.get_contract(db, user, merchant_id))
    cost, cost_refusal = _attempt(lambda: fees.merchant_cost(db, user, merchant_id)) if contract else (None, None)
    flags = fees.list_flags(db, user, status=FlagStatus.OPEN, merchant_id=merchant_id)
    cards = fees.list_rate_cards(db, user) if user.role in fees.DESK else []
    lang = page_lang(request)
    return _render(request, user, "fees/mine.html", {
        "merchant_id": merchant_id, "mix": mix if mix.count else None, "contract": contract, "cost": cost,
        "cost_refusal": cost_refusal.text(lang) if cost_refusal else None, "flags": flags, "done": done,
        "volumes": volumes or VolumesForm.of(mix), "cards": cards,
        "contract_form": contract_form or _contract_form(contract), "refusal": refused, "refused_in": refused_in,
        "here": lambda path="/fees", **q: _here(user, merchant_id, path, **q),
        "card_title": lambda card: card_title(card, lang)}, refused.status if refused else 200)


DONE = frozenset({"volumes", "statement", "contract", "checked"})
"""What a form on 我的费用 may say it did (``?done=``)."""


@router.get("/fees", response_class=HTMLResponse)
def fees_page(request: Request, db: DbDep, user: PageUser, merchant_id: Id | None = None,
              done: Word = "") -> HTMLResponse:
    """我的费用: the mix and where it comes from, the month's and year's cost on the contract's card, open flags."""
    return _fees_page(request, db, user, _merchant_of(user, merchant_id), done=done if done in DONE else "")


def _fees_form(request: Request, db: DbDep, user: Principal, merchant_id: int | None, csrf_token: str, which: str,
               action: Callable[[int], Any], *, rows: bool = False, volumes: VolumesForm | None = None,
               contract_form: dict[str, str] | None = None) -> Response:
    """Run a form of 我的费用: 303 back to the page saying what was done, or the page with the refusal by the form."""
    check_csrf(request, csrf_token)
    target = _merchant_of(user, merchant_id)
    try:
        if target is None:
            raise Invalid("merchant_id", key="fees.page.error.merchant_needed")
        action(target)
    except PosopsError as exc:
        refused = form_refusal(exc, page_lang(request), rows=rows)
        if target is None or exc.status in (403, 404):
            raise  # not this merchant's page to show: the refusal itself, on the error page
        return _fees_page(request, db, user, target, volumes=volumes, contract_form=contract_form, refused=refused,
                          refused_in=which)
    return RedirectResponse(_here(user, target, done=which), status_code=303)


@router.post("/fees/volumes", response_class=HTMLResponse)
def set_volumes(request: Request, db: DbDep, user: PageUser, merchant_id: Annotated[Id | None, Form()] = None,
                csrf_token: Field = "", count: Column = None, amount: Column = None) -> Response:
    """Record the merchant's monthly volumes as typed in: per card type its payments and amount in 元."""
    form = VolumesForm(counts=list(count or []), amounts=list(amount or []))
    return _fees_form(request, db, user, merchant_id, csrf_token, "volumes",
                      lambda target: fees.set_volumes(db, user, target, form.data()), rows=True, volumes=form)


@router.post("/fees/statement", response_class=HTMLResponse)
def import_statement(request: Request, db: DbDep, user: PageUser, merchant_id: Annotated[Id | None, Form()] = None,
                     csrf_token: Field = "",
                     file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Import a statement CSV (date, channel, card_type, amount, charged_fen): every line or none."""
    content = file.file.read(fees.STATEMENT_MAX_BYTES + 1) if file is not None else b""  # more: the service refuses

    def action(target: int) -> object:
        if file is None or not file.filename or not content:
            raise Invalid("file", key="fees.page.error.no_file")
        return fees.import_statement(db, user, target, content, source_name=file.filename)
    return _fees_form(request, db, user, merchant_id, csrf_token, "statement", action)


@router.post("/fees/contract", response_class=HTMLResponse)
def set_contract(request: Request, db: DbDep, user: PageUser, merchant_id: Annotated[Id | None, Form()] = None,
                 csrf_token: Field = "", rate_card_id: Field = "", merchant_class: Field = "",
                 registered_mcc: Field = "") -> Response:
    """Put the merchant on a rate card (desk): its class and its registered MCC, which traffic is checked against."""
    form = {"rate_card_id": rate_card_id, "merchant_class": merchant_class, "registered_mcc": registered_mcc}

    def action(target: int) -> object:
        require_role(user, *fees.DESK)
        data = validated(ContractIn, {**form, "rate_card_id": rate_card_id.strip() or None,
                                         "merchant_class": merchant_class.strip() or MerchantClass.STANDARD})
        return fees.set_contract(db, user, target, data)
    return _fees_form(request, db, user, merchant_id, csrf_token, "contract", action, contract_form=form)


@router.post("/fees/check", response_class=HTMLResponse)
def check_merchant(request: Request, db: DbDep, user: PageUser, merchant_id: Annotated[Id | None, Form()] = None,
                   csrf_token: Field = "") -> Response:
    """Check what the merchant is charged against its card, and its traffic's MCCs against its category."""
    return _fees_form(request, db, user, merchant_id, csrf_token, "checked",
                      lambda target: fees.check_merchant(db, user, target))


# 比较方案 ---------------------------------------------------------------------------------------


@router.get("/fees/compare", response_class=HTMLResponse)
def compare_page(request: Request, db: DbDep, user: PageUser, merchant_id: Id | None = None) -> HTMLResponse:
    """比较方案: every card in force, cheapest first for the merchant's mix, and the chart of where the lines cross."""
    target = _merchant_of(user, merchant_id)
    if target is None:
        require_role(user, *DESK_READERS)
        return _render(request, user, "fees/choose.html", {"next": "/fees/compare"})
    lang = page_lang(request)
    result = fees.compare_cards(db, user, target)  # a merchant not the caller's to see is a 404 here
    return _render(request, user, "fees/compare.html", {
        "merchant_id": target, "view": comparison_view(result, lang) if result.costs else None,
        "palette_size": len(PALETTE),
        "here": lambda path="/fees", **q: _here(user, target, path, **q),
        "card_title": lambda card: card_title(card, lang)})


# rate cards -----------------------------------------------------------------------------------


@dataclass
class CardForm:
    """The rate card form's fields as typed, to show again; :meth:`data` reads them into a card."""

    provider: str = ""
    product: str = Product.POS_SMART
    merchant_class: str = MerchantClass.STANDARD
    rates: list[list[str]] = field(default_factory=list)
    """Rows of channel, card type, rate in basis points, cap in 元, threshold in 元."""
    surcharges: list[list[str]] = field(default_factory=list)
    """Rows of name, 元 per payment, channel ('' for both), card type."""
    periodic: list[list[str]] = field(default_factory=list)
    """Rows of name, 元, period."""
    deposit: list[str] = field(default_factory=lambda: ["", "", ""])
    """元, refund volume in 元, within days."""
    valid_from: str = ""
    valid_to: str = ""
    source: str = ""
    source_date: str = ""
    is_example: bool = False

    def rate_rows(self) -> list[list[str]]:
        """The rate rows to show: those typed, then blank ones."""
        return [*self.rates, *[["card", "any", "", "", ""]] * max(0, RATE_ROWS - len(self.rates))]

    def surcharge_rows(self) -> list[list[str]]:
        """The surcharge rows to show: those typed, then blank ones."""
        return [*self.surcharges, *[["", "", "", "any"]] * max(0, SURCHARGE_ROWS - len(self.surcharges))]

    def periodic_rows(self) -> list[list[str]]:
        """The periodic fee rows to show: those typed, then blank ones."""
        return [*self.periodic, *[["", "", "year"]] * max(0, PERIODIC_ROWS - len(self.periodic))]

    def data(self) -> RateCardIn:
        """The card these fields describe, or Invalid naming every field at fault (by row)."""
        problems: list[Problem] = []

        def fen(text: str, name: str, required: bool = False) -> int | None:
            try:
                return read_fen(text, name, required=required)
            except Invalid as exc:
                problems.extend(exc.problems)
                return None

        rates = [{"channel": channel, "card_type": card_type, "rate_bp": rate.strip(),
                  "cap_fen": fen(cap, f"rates.{i}.cap_fen"),
                  "threshold_fen": fen(threshold, f"rates.{i}.threshold_fen")}
                 for i, (channel, card_type, rate, cap, threshold) in enumerate(self.rates)]
        surcharges = [{"name": name, "fen_per_transaction": fen(amount, f"surcharges.{i}.fen_per_transaction", True),
                       "channel": channel or None, "card_type": card_type or CardType.ANY}
                      for i, (name, amount, channel, card_type) in enumerate(self.surcharges)]
        periodic = [{"name": name, "fen": fen(amount, f"periodic_fees.{i}.fen", True), "period": period}
                    for i, (name, amount, period) in enumerate(self.periodic)]
        deposit = None
        if any(part.strip() for part in self.deposit):
            deposit = {"fen": fen(self.deposit[0], "deposit.fen", True),
                       "refund_volume_fen": fen(self.deposit[1], "deposit.refund_volume_fen", True),
                       "within_days": self.deposit[2].strip() or None}
        if problems:
            raise Invalid.many(problems)
        return validated(RateCardIn, {
            "provider": self.provider, "product": self.product, "merchant_class": self.merchant_class,
            "rates": rates, "surcharges": surcharges, "periodic_fees": periodic, "deposit": deposit,
            "valid_from": self.valid_from.strip() or None, "valid_to": self.valid_to.strip() or None,
            "source": self.source, "source_date": self.source_date.strip() or None, "is_example": self.is_example})

    @classmethod
    def of(cls, card: RateCardOut) -> CardForm:
        """The form filled with a stored card, to edit it."""
        return cls(
            provider=card.provider, product=str(card.product), merchant_class=str(card.merchant_class),
            rates=[[str(r.channel), str(r.card_type), str(r.rate_bp), yuan_input(r.cap_fen),
                    yuan_input(r.threshold_fen)] for r in card.rates],
            surcharges=[[s.name, yuan_input(s.fen_per_transaction), str(s.channel or ""), str(s.card_type)]
                        for s in card.surcharges],
            periodic=[[p.name, yuan_input(p.fen), str(p.period)] for p in card.periodic_fees],
            deposit=[yuan_input(card.deposit.fen), yuan_input(card.deposit.refund_volume_fen),
                     str(card.deposit.within_days)] if card.deposit else ["", "", ""],
            valid_from=card.valid_from.isoformat(), valid_to=card.valid_to.isoformat() if card.valid_to else "",
            source=card.source, source_date=card.source_date.isoformat(), is_example=card.is_example)


def _rows(*columns: list[str] | None) -> list[list[str]]:
    """The form's columns zipped into rows (a short column read as blanks); rows left wholly blank dropped."""
    lists = [list(c or []) for c in columns]
    count = max((len(c) for c in lists), default=0)
    return [row for row in ([c[i] if i < len(c) else "" for c in lists] for i in range(count)) if row]


def card_form(provider: Field = "", product: Field = "", merchant_class: Field = "",
              rate_channel: Column = None, rate_card_type: Column = None, rate_bp: Column = None,
              rate_cap: Column = None, rate_threshold: Column = None, surcharge_name: Column = None,
              surcharge_amount: Column = None, surcharge_channel: Column = None, surcharge_card_type: Column = None,
              periodic_name: Column = None, periodic_amount: Column = None, periodic_period: Column = None,
              deposit_amount: Field = "", deposit_refund_volume: Field = "", deposit_within_days: Field = "",
              valid_from: Field = "", valid_to: Field = "", source: Field = "", source_date: Field = "",
              is_example: Field = "") -> CardForm:
    """Read the rate card form; a rate row without a rate, a surcharge or fee row without a name, is unused."""
    rates = [r for r in _rows(rate_channel, rate_card_type, rate_bp, rate_cap, rate_threshold) if r[2].strip()]
    surcharges = [r for r in _rows(surcharge_name, surcharge_amount, surcharge_channel, surcharge_card_type)
                  if r[0].strip() or r[1].strip()]
    periodic = [r for r in _rows(periodic_name, periodic_amount, periodic_period) if r[0].strip() or r[1].strip()]
    return CardForm(provider=provider, product=product, merchant_class=merchant_class, rates=rates,
                    surcharges=surcharges, periodic=periodic,
                    deposit=[deposit_amount, deposit_refund_volume, deposit_within_days], valid_from=valid_from,
                    valid_to=valid_to, source=source, source_date=source_date, is_example=is_example == "1")


CardFormDep = Annotated[CardForm, Depends(card_form)]


def _cards_page(request: Request, db: DbDep, user: Principal, *, page: int = 1, include_expired: bool = False,
                saved: int | None = None, form: CardForm | None = None, editing: RateCardOut | None = None,
                refused: Refusal | None = None) -> HTMLResponse:
    require_role(user, *CARD_PAGE_READERS)
    cards = fees.list_rate_cards(db, user, include_expired=include_expired)
    pages = max(1, -(-len(cards) // CONSOLE_PER_PAGE))
    page = min(page, pages)
    shown = cards[(page - 1) * CONSOLE_PER_PAGE: page * CONSOLE_PER_PAGE]
    lang = page_lang(request)
    return _render(request, user, "fees/cards.html", {
        "cards": shown, "total": len(cards), "page": page, "pages": pages, "include_expired": include_expired,
        "saved": next((c for c in cards if c.id == saved), None), "form": form or CardForm(), "editing": editing,
        "refusal": refused, "today": date.today(), "card_title": lambda card: card_title(card, lang)},
        refused.status if refused else 200)


@router.get("/fees/cards", response_class=HTMLResponse)
def cards_page(request: Request, db: DbDep, user: PageUser, page: PageNumber = 1, expired: Word = "",
               saved: Id | None = None) -> HTMLResponse:
    """The rate cards in force (``expired=1``: every card), each with its rates, fees, deposit and source; a form."""
    return _cards_page(request, db, user, page=page, include_expired=expired == "1", saved=saved)


@router.get("/fees/cards/{card_id}", response_class=HTMLResponse)
def card_page(request: Request, card_id: Id, db: DbDep, user: PageUser) -> HTMLResponse:
    """One rate card in the form, to change it (agent, admin) or read it."""
    card = fees.get_rate_card(db, user, card_id)
    return _cards_page(request, db, user, include_expired=True, form=CardForm.of(card), editing=card)


def _card_form_run(request: Request, db: DbDep, user: Principal, csrf_token: str, form: CardForm,
                   action: Callable[[RateCardIn], RateCardOut], editing: Callable[[], RateCardOut | None]) -> Response:
    check_csrf(request, csrf_token)
    try:
        require_role(user, *fees.DESK)
        saved = action(form.data())
    except PosopsError as exc:
        if exc.status in (403, 404):
            raise
        return _cards_page(request, db, user, include_expired=True, form=form, editing=editing(),
                           refused=form_refusal(exc, page_lang(request), rows=True))
    return RedirectResponse(f"/fees/cards?saved={saved.id}#card-{saved.id}", status_code=303)


@router.post("/fees/cards", response_class=HTMLResponse)
def create_card(request: Request, db: DbDep, user: PageUser, form: CardFormDep, csrf_token: Field = "") -> Response:
    """Add a rate card (agent, admin); the list follows, the card marked."""
    return _card_form_run(request, db, user, csrf_token, form, lambda data: fees.create_rate_card(db, user, data),
                          lambda: None)


@router.post("/fees/cards/{card_id}", response_class=HTMLResponse)
def update_card(request: Request, card_id: Id, db: DbDep, user: PageUser, form: CardFormDep,
                csrf_token: Field = "") -> Response:
    """Change a rate card (agent, admin): the change is audited, before and after."""
    return _card_form_run(request, db, user, csrf_token, form,
                          lambda data: fees.update_rate_card(db, user, card_id, data),
                          lambda: fees.get_rate_card(db, user, card_id))


# flags ----------------------------------------------------------------------------------------


def _flags_page(request: Request, db: DbDep, user: Principal, *, kind: str = "", status: str = FlagStatus.OPEN,
                page: int = 1, closed: int | None = None, refused: Refusal | None = None,
                refused_flag: int | None = None) -> HTMLResponse:
    require_role(user, *FLAG_PAGE_READERS)
    chosen = FlagKind(kind) if kind in {*FlagKind} else None
    state = FlagStatus(status) if status in {*FlagStatus} else FlagStatus.OPEN
    flags: list[FlagOut] = fees.list_flags(db, user, kind=chosen, status=state)
    pages = max(1, -(-len(flags) // CONSOLE_PER_PAGE))
    page = min(page, pages)
    return _render(request, user, "fees/flags.html", {
        "flags": flags[(page - 1) * CONSOLE_PER_PAGE: page * CONSOLE_PER_PAGE], "total": len(flags), "page": page,
        "pages": pages, "kind": chosen or "", "status": state, "kinds": list(FlagKind), "statuses": list(FlagStatus),
        "closed": closed, "refusal": refused, "refused_flag": refused_flag,
        "may_close": lambda flag: user.role in fees.DESK or (
            user.role in fees.CHECKERS and flag.kind == FlagKind.MCC_MISMATCH)}, refused.status if refused else 200)


@router.get("/fees/flags", response_class=HTMLResponse)
def flags_page(request: Request, db: DbDep, user: PageUser, kind: Word = "", status: Word = "open",
               page: PageNumber = 1, closed: Id | None = None) -> HTMLResponse:
    """Flags of overcharges and of 跳码 (an MCC in traffic unlike the merchant's registered one), newest first."""
    return _flags_page(request, db, user, kind=kind, status=status, page=page, closed=closed)


@router.post("/fees/flags/{flag_id}/close", response_class=HTMLResponse)
def close_flag(request: Request, flag_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
               note: Field = "") -> Response:
    """Close a flag saying what was done (the desk any flag, risk its MCC flags); the open list follows."""
    check_csrf(request, csrf_token)
    try:
        fees.close_flag(db, user, flag_id, validated(FlagCloseIn, {"note": note}))
    except PosopsError as exc:
        if exc.status in (403, 404):
            raise
        return _flags_page(request, db, user, refused=form_refusal(exc, page_lang(request)), refused_flag=flag_id)
    return RedirectResponse(f"/fees/flags?closed={flag_id}", status_code=303)
