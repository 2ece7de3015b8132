"""Console pages of fees: 我的费用 from the merchant's own traffic, 比较方案 with its chart, rate cards, flags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from posops.core.db import Database, utcnow
from posops.core.i18n import catalog
from posops.fees import service as fees
from posops.fees.pricing import Channel, Period, Product
from posops.fees.regulation import CardType, MerchantClass
from posops.fees.schemas import (
    ContractIn,
    DepositIn,
    FlagKind,
    MixSource,
    PeriodicFeeIn,
    RateCardIn,
    RateIn,
    SurchargeIn,
)
from posops.fees.views import bp_percent, circled, percent, yuan
from posops.iso8583.models import TerminalTrafficRecord, TrafficAnalysis
from tests import authorization as matrix
from tests.conftest import Fleet
from tests.helpers import csrf_token, login

ROLES = ["merchant", "agent", "risk", "technician", "admin"]
HTML = {"accept": "text/html"}
REGISTERED_MCC = "5411"
FOREIGN_MCC = "5812"
DEBIT = (40, 40 * 25_000)
"""Debit purchases in the shop's traffic: 40 of 250 元."""
CREDIT = (30, 30 * 100_000)
"""Credit purchases: 30 of 1,000 元."""
UNKNOWN = (2, 2 * 10_000)
"""Card purchases the BIN table did not know: 2 of 100 元 (priced as credit)."""


def _card(provider: str, product: Product, rates: list[RateIn], **fields: Any) -> RateCardIn:
    return RateCardIn(provider=provider, product=product, merchant_class=MerchantClass.STANDARD, rates=rates,
                      valid_from=date(2026, 1, 1), source=f"{provider} 价目表 2026", source_date=date(2026, 1, 1),
                      **fields)


def _cards() -> list[RateCardIn]:
    """Card A: dearer rates, small fixed fees; card B: cheaper rates, a monthly service fee (they cross)."""
    qr = [RateIn(channel=Channel.QR, card_type=CardType.ANY, rate_bp="38")]
    return [
        _card("甲支付", Product.POS_SMART, [
            RateIn(channel=Channel.CARD, card_type=CardType.CREDIT, rate_bp="60"),
            RateIn(channel=Channel.CARD, card_type=CardType.DEBIT, rate_bp="50", cap_fen=2000), *qr],
            periodic_fees=[PeriodicFeeIn(name="流量费", fen=3600, period=Period.YEAR)],
            deposit=DepositIn(fen=9900, refund_volume_fen=3_000_000, within_days=90)),
        _card("乙支付", Product.POS_CLASSIC, [
            RateIn(channel=Channel.CARD, card_type=CardType.CREDIT, rate_bp="52"),
            RateIn(channel=Channel.CARD, card_type=CardType.DEBIT, rate_bp="45", cap_fen=2000), *qr],
            surcharges=[SurchargeIn(name="秒到", fen_per_transaction=0, channel=Channel.CARD)],
            periodic_fees=[PeriodicFeeIn(name="服务费", fen=5000, period=Period.MONTH)]),
    ]


def _figures(count: int, amount_fen: int) -> dict[str, Any]:
    return {"count": count, "amount_fen": amount_fen,
            "buckets": [{"upto_fen": None, "count": count, "amount_fen": amount_fen}]}


def add_traffic(db: Database, terminal_id: int, tid: str, *, mccs: dict[str, int] | None = None) -> None:
    """One imported analysis of the terminal's last ten days: approved purchases by card class, and their MCCs."""
    now = utcnow()
    summary = {"purchases": {"debit": _figures(*DEBIT), "credit": _figures(*CREDIT), "unknown": _figures(*UNKNOWN)},
               "mccs": mccs or {REGISTERED_MCC: DEBIT[0] + CREDIT[0] + UNKNOWN[0]}}
    with db.transaction() as session:
        analysis = TrafficAnalysis(source_name="shop.log", analysed_by="agent", frames=200, malformed=0,
                                   matched_terminals=1)
        session.add(analysis)
        session.flush()
        session.add(TerminalTrafficRecord(analysis_id=analysis.id, terminal_id=terminal_id, tid=tid,
                                          first_seen=now - timedelta(days=9, hours=20),
                                          last_seen=now - timedelta(hours=1), summary=summary, evidence={}))


@dataclass
class Priced:
    """The fees world: two cards, the example cards, merchant A on card A with traffic, merchant B with none."""

    card_a: int
    card_b: int
    examples: list[int]


@pytest.fixture
def priced(fleet: Fleet, db: Database) -> Fleet:
    """Cards A, B and the example cards; merchant A on card A (MCC 5411) with ten days of traffic."""
    agent = fleet.users["agent"]
    a, b = (fees.create_rate_card(db, agent, card).id for card in _cards())
    examples, _ = fees.load_example_cards(db, agent)
    fees.set_contract(db, agent, fleet.merchant_a, ContractIn(rate_card_id=a, registered_mcc=REGISTERED_MCC))
    add_traffic(db, fleet.terminals_a[0], "90000000", mccs={REGISTERED_MCC: 60, FOREIGN_MCC: 12})
    fleet.fees = Priced(a, b, [c.id for c in examples])  # type: ignore[attr-defined]
    return fleet


def _p(fleet: Fleet) -> Priced:
    found: Priced = fleet.fees  # type: ignore[attr-defined]
    return found


def _section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1].split("</section>")[0]


def _token(client: TestClient, username: str, page: str = "/fees") -> str:
    login(client, username)
    return csrf_token(client.get(page).text)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# 我的费用 -----------------------------------------------------------------------------------------


def test_the_merchant_sees_its_own_traffic_mix_and_every_component_of_its_cost(client: TestClient, priced: Fleet,
                                                                              db: Database) -> None:
    login(client, "merchant")
    page = client.get("/fees")
    assert page.status_code == 200, page.text
    mix = _section(page.text, "mix")
    assert 'data-source="traffic"' in mix and "来自您终端的交易记录" in mix
    rows = dict(re.findall(r'data-card-type="(\w+)">.*?data-testid="mix-count">(\d+)<', mix, re.S))
    assert rows == {"debit": str(DEBIT[0]), "credit": str(CREDIT[0]), "any": str(UNKNOWN[0])}, rows
    assert f"{yuan(DEBIT[1] + CREDIT[1] + UNKNOWN[1])} 元" in _section(mix, "mix-total-amount")
    assert 'data-testid="mix-unknown"' in mix, "the payments of unknown card type are said, priced as credit"

    expected = fees.merchant_cost(db, priced.users["merchant"], priced.merchant_a)
    cost = _section(page.text, "cost")
    assert f">{yuan(expected.month_fen)}<" in _section(cost, "month-cost")
    assert f">{yuan(expected.year_fen)}<" in _section(cost, "year-cost")
    assert percent(expected.effective_rate) in _section(cost, "effective-rate")
    shown = re.findall(r'<li data-line="(\w+)">', cost)
    assert shown == [line.name for line in expected.lines] and "periodic" in shown, "every component, in order"
    assert all(line.label_zh in cost and f"{yuan(line.fen)} 元" in cost for line in expected.lines)
    assert "流量费" in cost and "甲支付" in cost
    assert expected.deposit is not None
    deposit = 'data-refunded="yes"' if expected.deposit.refunded else 'data-refunded="no"'
    assert deposit in cost and expected.deposit.condition_zh in cost
    assert expected.regulated.lines and expected.regulated.lines[0].label_zh in _section(cost, "regulated")
    assert "Effective rate" not in page.text, "zh-CN first"

    flags = _section(page.text, "flags")
    assert 'data-testid="no-flags"' in flags, "a merchant never sees an MCC flag, and has no overcharge"
    assert 'data-testid="contract-section"' not in page.text and 'data-testid="check-button"' not in page.text


def test_the_desk_reaches_any_merchants_page_and_a_merchant_only_its_own(client: TestClient, priced: Fleet) -> None:
    login(client, "merchant")
    assert client.get(f"/fees?merchant_id={priced.merchant_b}", headers=HTML).status_code == 404
    assert client.get(f"/fees/compare?merchant_id={priced.merchant_b}", headers=HTML).status_code == 404
    own = client.get(f"/fees?merchant_id={priced.merchant_a}")
    assert own.status_code == 200 and 'data-source="traffic"' in own.text

    login(client, "agent")
    chooser = client.get("/fees")
    assert chooser.status_code == 200 and 'data-testid="choose-merchant"' in chooser.text
    desk = client.get(f"/fees?merchant_id={priced.merchant_a}")
    assert desk.status_code == 200 and 'data-source="traffic"' in desk.text
    assert f'name="merchant_id" value="{priced.merchant_a}"' in _section(desk.text, "volumes-section")
    other = client.get(f"/fees?merchant_id={priced.merchant_b}").text
    assert 'data-testid="no-mix"' in other and 'data-testid="no-contract"' in other, "merchant B has neither"


def test_typed_volumes_are_kept_or_refused_by_row_in_both_languages(client: TestClient, priced: Fleet,
                                                                    db: Database) -> None:
    token = _token(client, "merchant_b")
    form = {"csrf_token": token, "count": ["100", "20", ""], "amount": ["30000", "12.345", ""]}
    for lang, words in (("zh-CN", "第 2 行 金额："), ("en", "row 2: Amount: ")):
        client.get(f"/lang/{lang}")
        refused = client.post("/fees/volumes", data=form)
        assert refused.status_code == 422
        section = _section(refused.text, "volumes-section")
        assert 'data-testid="refusal"' in section and words in section, section
        assert 'value="12.345"' in section, "what was typed is kept"
    assert fees.merchant_mix(db, priced.users["merchant_b"], priced.merchant_b).count == 0, "nothing stored"

    client.get("/lang/zh-CN")
    saved = client.post("/fees/volumes", data={**form, "amount": ["30000", "12000.50", ""]}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/fees?done=volumes"
    page = client.get(saved.headers["location"]).text
    assert 'data-testid="done"' in page and 'data-source="typed"' in page and "来自您填写的月交易额" in page
    assert "3,000,000.00" not in page and "30,000.00 元" in page and "12,000.50 元" in page
    assert 'value="12000.50"' in _section(page, "volumes-section"), "the form shows the month on file"


STATEMENT_OK = ("date,channel,card_type,amount,charged_fen\n2026-11-02,card,debit,256.00,128\n"
                "2026-11-03,qr,any,38.50,15\n")
STATEMENT_BAD = ("date,channel,card_type,amount,charged_fen\n2026-11-02,card,debit,256.00,128\n"
                 "2026-11-31,card,debit,10.00,5\n2026-11-04,wire,debit,10.00,5\n")


def test_a_statement_is_refused_by_line_in_both_languages_then_imported(client: TestClient, priced: Fleet,
                                                                        db: Database) -> None:
    token = _token(client, "merchant_b")
    for lang, words in (("zh-CN", ("第 3 行", "第 4 行")), ("en", ("line 3:", "line 4:"))):
        client.get(f"/lang/{lang}")
        refused = client.post("/fees/statement", data={"csrf_token": token},
                              files={"file": ("bill.csv", STATEMENT_BAD.encode(), "text/csv")})
        assert refused.status_code == 422, refused.text
        section = _section(refused.text, "statement-section")
        assert 'data-testid="refusal"' in section and all(w in section for w in words), section
    assert fees.list_statements(db, priced.users["merchant_b"], priced.merchant_b) == [], "nothing stored"

    client.get("/lang/zh-CN")
    empty = client.post("/fees/statement", data={"csrf_token": token})
    assert empty.status_code == 422 and "请选择对账单文件" in _section(empty.text, "statement-section")
    done = client.post("/fees/statement", data={"csrf_token": token}, follow_redirects=False,
                       files={"file": ("bill.csv", STATEMENT_OK.encode(), "text/csv")})
    assert done.status_code == 303 and done.headers["location"] == "/fees?done=statement"
    mix = _section(client.get("/fees").text, "mix")
    assert 'data-source="statement"' in mix and "256.00 元" in mix and "38.50 元" in mix


def test_the_desk_sets_the_contract_and_risk_checks_the_traffic_for_mcc_switching(client: TestClient,
                                                                                  priced: Fleet) -> None:
    token = _token(client, "agent", f"/fees?merchant_id={priced.merchant_b}")
    bad = client.post("/fees/contract", data={"csrf_token": token, "merchant_id": str(priced.merchant_b),
                                              "rate_card_id": str(_p(priced).card_b), "registered_mcc": "54"})
    assert bad.status_code == 422 and "登记的商户类别码（MCC）：" in _section(bad.text, "contract-section")
    saved = client.post("/fees/contract", follow_redirects=False, data={
        "csrf_token": token, "merchant_id": str(priced.merchant_b), "rate_card_id": str(_p(priced).card_b),
        "merchant_class": "standard", "registered_mcc": "5411"})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/fees?merchant_id={priced.merchant_b}&done=contract"
    assert "乙支付" in _section(client.get(saved.headers["location"]).text, "contract-now")

    token = _token(client, "risk", f"/fees?merchant_id={priced.merchant_a}")
    checked = client.post("/fees/check", data={"csrf_token": token, "merchant_id": str(priced.merchant_a)},
                          follow_redirects=False)
    assert checked.status_code == 303
    page = client.get(checked.headers["location"]).text
    flags = _section(page, "flags")
    assert 'data-kind="mcc_mismatch"' in flags and FOREIGN_MCC in flags and "跳码" in flags
    listed = client.get("/fees/flags?kind=mcc_mismatch").text
    assert f'href="/fees?merchant_id={priced.merchant_a}"' in listed and FOREIGN_MCC in listed

    flag = re.findall(r'data-flag="(\d+)" data-kind="mcc_mismatch"', listed)[0]
    refused = client.post(f"/fees/flags/{flag}/close", data={"csrf_token": token, "note": " "})
    assert refused.status_code == 422 and 'data-testid="refusal"' in refused.text
    closed = client.post(f"/fees/flags/{flag}/close", data={"csrf_token": token, "note": "已与商户核实：餐饮档口"},
                         follow_redirects=False)
    assert closed.status_code == 303
    assert f'data-flag="{flag}"' not in client.get("/fees/flags").text, "closed flags leave the open list"
    assert "已与商户核实" in client.get("/fees/flags?status=closed").text

    login(client, "merchant")
    assert 'data-kind="mcc_mismatch"' not in client.get("/fees").text, "the merchant never sees the MCC flag"


# 比较方案 -----------------------------------------------------------------------------------------


def test_the_comparison_ranks_cheapest_first_marks_the_contract_card_and_labels_examples(
        client: TestClient, priced: Fleet, db: Database) -> None:
    expected = fees.compare_cards(db, priced.users["merchant"], priced.merchant_a)
    login(client, "merchant")
    page = client.get("/fees/compare")
    assert page.status_code == 200, page.text
    ranking = _section(page.text, "ranking")
    order = [int(n) for n in re.findall(r'data-card="(\d+)" data-testid="offer"', ranking)]
    assert order == [cost.card.id for cost in expected.costs], "cheapest first, as the service ranks them"
    months = [c.month_fen for c in expected.costs if not c.unpriced_count]
    assert months == sorted(months)
    shown = re.findall(r'data-testid="offer-month">([\d,.]+)<', ranking)
    assert shown == [yuan(cost.month_fen) for cost in expected.costs if not cost.unpriced_count]
    unfit = [cost for cost in expected.costs if cost.unpriced_count]
    assert unfit and ranking.count('data-testid="offer-unfit"') == len(unfit), "the QR-only card is not ranked at 0"

    current = ranking.split(f'data-card="{_p(priced).card_a}" data-testid="offer"')[1].split("</li>")[0]
    assert 'data-testid="current-card"' in current and "当前方案" in current
    offers = ranking.split('data-testid="offer"')[1:]
    examples = [o for o in offers if "示例支付" in o]
    assert len(examples) == len(_p(priced).examples) and all('data-testid="example-badge"' in o for o in examples)
    assert not any('data-testid="example-badge"' in o for o in offers if "示例支付" not in o)
    assert 'data-testid="example-note"' in page.text, "example figures are never presented as fact"

    chart = _section(page.text, "chart-section")
    assert chart.count("<polyline") == len(expected.curve.series) >= 2
    assert 'data-testid="own-volume"' in chart
    assert expected.crossings, "cards A and B cross on this mix"
    cards = {cost.card.id: cost.card for cost in expected.costs}
    listed = _text(_section(chart, "crossings").split("</ol>")[0])
    for number, crossing in enumerate(expected.crossings, 1):
        cheaper = cards[crossing.to_card_id]
        sentence = f"{circled(number)} 月交易额超过 {yuan(crossing.volume_fen)} 元时，{cheaper.provider}"
        assert sentence in listed, (sentence, listed)
    assert chart.count('data-testid="crossing-mark"') == len(expected.crossings)


def test_the_comparison_of_a_merchant_without_payments_still_lists_the_cards(client: TestClient,
                                                                              priced: Fleet) -> None:
    login(client, "merchant_b")
    page = client.get("/fees/compare")
    assert page.status_code == 200
    assert "没有交易额，无法画图" in page.text and 'data-testid="offer"' in page.text


# rate cards ---------------------------------------------------------------------------------------


def _card_form(token: str | None, **fields: Any) -> dict[str, Any]:
    """The rate card form as a browser posts it (``token`` None: without a CSRF token, for the matrix to add)."""
    return {**({} if token is None else {"csrf_token": token}), "provider": "丙支付", "product": "pos_smart",
            "merchant_class": "standard",
            "rate_channel": ["card", "card", "qr", "qr"], "rate_card_type": ["credit", "debit", "any", "any"],
            "rate_bp": ["58", "48", "38", "60"], "rate_cap": ["", "20", "", ""], "rate_threshold": ["", "", "1000", ""],
            "surcharge_name": ["秒到", ""], "surcharge_amount": ["2", ""], "surcharge_channel": ["", ""],
            "surcharge_card_type": ["any", "any"], "periodic_name": ["流量费"], "periodic_amount": ["48"],
            "periodic_period": ["year"], "deposit_amount": "199", "deposit_refund_volume": "50000",
            "deposit_within_days": "60", "valid_from": "2026-12-01", "valid_to": "", "source": "丙支付代理商报价页",
            "source_date": "2026-11-20", **fields}


def test_the_desk_adds_and_changes_a_rate_card_from_its_form(client: TestClient, priced: Fleet,
                                                             db: Database) -> None:
    token = _token(client, "agent", "/fees/cards")
    bad = client.post("/fees/cards", data=_card_form(token, rate_cap=["", "20元x", "", ""], deposit_within_days=""))
    assert bad.status_code == 422
    section = _section(bad.text, "card-form-section")
    assert "第 2 行 封顶（元）：" in section and "天数内" in section, section
    assert 'value="丙支付代理商报价页"' in section, "what was typed is kept"

    added = client.post("/fees/cards", data=_card_form(token), follow_redirects=False)
    assert added.status_code == 303, added.text
    card_id = int(re.findall(r"saved=(\d+)", added.headers["location"])[0])
    stored = fees.get_rate_card(db, priced.users["agent"], card_id)
    assert [(r.channel, r.card_type, r.rate_bp, r.cap_fen, r.threshold_fen) for r in stored.rates] == [
        ("card", "credit", "58", None, None), ("card", "debit", "48", 2000, None), ("qr", "any", "38", None, 100_000),
        ("qr", "any", "60", None, None)]
    assert [(s.name, s.fen_per_transaction, s.channel) for s in stored.surcharges] == [("秒到", 200, None)]
    assert [(p.name, p.fen, p.period) for p in stored.periodic_fees] == [("流量费", 4800, "year")]
    assert stored.deposit is not None and (stored.deposit.fen, stored.deposit.refund_volume_fen,
                                           stored.deposit.within_days) == (19_900, 5_000_000, 60)
    assert not stored.is_example
    listed = client.get(added.headers["location"]).text
    assert 'data-testid="card-saved"' in listed and f'id="card-{card_id}"' in listed
    shown = listed.split(f'id="card-{card_id}"')[1].split("</section>")[0]
    assert f"万分之 58（{bp_percent('58')}）" in shown and "秒到" in shown and "丙支付代理商报价页" in shown

    edit = client.get(f"/fees/cards/{card_id}").text
    assert f'action="/fees/cards/{card_id}"' in edit and 'value="48"' in edit and 'value="199"' in edit
    changed = client.post(f"/fees/cards/{card_id}", data=_card_form(token, rate_bp=["55", "48", "38", "60"],
                                                                    deposit_amount="", deposit_refund_volume="",
                                                                    deposit_within_days=""), follow_redirects=False)
    assert changed.status_code == 303
    after = fees.get_rate_card(db, priced.users["agent"], card_id)
    assert after.rates[0].rate_bp == "55" and after.deposit is None

    token = _token(client, "risk", "/fees/cards")
    assert client.post("/fees/cards", data=_card_form(token, provider="丁支付"), headers=HTML).status_code == 403
    assert 'data-testid="card-form"' not in client.get("/fees/cards").text, "risk reads the cards, no form"


# the route × role matrix --------------------------------------------------------------------------


def _expect(merchant: int, agent: int, risk: int, technician: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (merchant, agent, risk, technician, admin), strict=True))


OWN, DESK_READ, CARDS_READ = _expect(200, 200, 200, 403, 200), _expect(403, 200, 200, 403, 200), \
    _expect(403, 200, 200, 200, 200)
CHANGE_CARDS = _expect(403, 303, 403, 403, 303)

PAGES: list[matrix.Page] = [
    ("mine", "GET", lambda f: f"/fees?merchant_id={f.merchant_a}", OWN),
    ("mine, other merchant", "GET", lambda f: f"/fees?merchant_id={f.merchant_b}", _expect(404, 200, 200, 403, 200)),
    ("choose a merchant", "GET", lambda f: "/fees", _expect(200, 200, 200, 403, 200)),
    ("compare", "GET", lambda f: f"/fees/compare?merchant_id={f.merchant_a}", OWN),
    ("cards", "GET", lambda f: "/fees/cards?expired=1&page=1", CARDS_READ),
    ("card", "GET", lambda f: f"/fees/cards/{_p(f).card_a}", CARDS_READ),
    ("flags", "GET", lambda f: "/fees/flags?kind=mcc_mismatch&status=open&page=1", DESK_READ),
]

FORMS: list[matrix.Form] = [
    ("volumes", "POST", lambda f: "/fees/volumes",
     lambda f: {"data": {"merchant_id": str(f.merchant_a), "count": ["10", "", ""], "amount": ["1000", "", ""]}},
     _expect(303, 303, 403, 403, 303)),
    ("statement", "POST", lambda f: "/fees/statement",
     lambda f: {"data": {"merchant_id": str(f.merchant_a)},
                "files": {"file": ("s.csv", STATEMENT_OK.encode(), "text/csv")}}, _expect(303, 303, 403, 403, 303)),
    ("contract", "POST", lambda f: "/fees/contract",
     lambda f: {"data": {"merchant_id": str(f.merchant_a), "rate_card_id": str(_p(f).card_b),
                         "registered_mcc": REGISTERED_MCC}}, _expect(403, 303, 403, 403, 303)),
    ("check", "POST", lambda f: "/fees/check", lambda f: {"data": {"merchant_id": str(f.merchant_a)}},
     _expect(403, 303, 303, 403, 303)),
    ("add card", "POST", lambda f: "/fees/cards", lambda f: {"data": _card_form(None)}, CHANGE_CARDS),
    ("change card", "POST", lambda f: f"/fees/cards/{_p(f).card_b}",
     lambda f: {"data": _card_form(None, provider="乙支付", product="pos_classic", valid_from="2026-01-01")},
     CHANGE_CARDS),
    ("close flag", "POST", lambda f: "/fees/flags/999999/close", lambda f: {"data": {"note": "核实"}},
     _expect(403, 404, 404, 403, 404)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_fees_page_and_form_answers_each_role_as_designed(client: TestClient, priced: Fleet,
                                                                role: str) -> None:
    matrix.check_pages_answer_role(client, priced, role, PAGES)
    matrix.check_forms_answer_role(client, priced, role, FORMS)


def test_every_fees_page_and_form_sends_anonymous_visitors_to_login(client: TestClient, priced: Fleet) -> None:
    matrix.check_pages_send_anonymous_to_login(client, priced, PAGES)
    matrix.check_forms_send_anonymous_to_login(client, priced, FORMS)


def test_the_pages_name_mix_sources_and_flag_kinds_in_both_languages() -> None:
    words = catalog()
    for source in MixSource:
        assert {"zh-CN", "en"} <= set(words[f"fees.page.mix.source.{source}"])
    for kind in FlagKind:
        assert {"zh-CN", "en"} <= set(words[f"fees.page.flag_kind.{kind}"])
