"""In Chromium on a phone-sized screen: the merchant opens 我的费用, sees the mix of its own terminal's traffic and
the cost on its card, then 比较方案 with every card ranked and the chart of cost against monthly volume."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from posops.core.db import utcnow
from tests.e2e.browser import log_in
from tests.e2e.conftest import E2E_ADMIN_TOKEN
from tests.iso8583.helpers import answer, purchase
from tests.iso8583.traffic import log_text

pytestmark = pytest.mark.e2e
ADMIN = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}
DEMO_TID = "10000001"
"""The demo merchant's first terminal (the demo numbers TIDs from 10000001 in the order of terminal ids)."""
DEBIT_PAN, CREDIT_PAN = "6222021234567890123", "6225751234567894"
"""Cards of the shipped BIN table: ICBC 622202 (debit) and CMB 622575 (credit)."""
PHONE_WIDTH = 390
SCREENSHOT = "/tmp/fees_compare.png"
MINE_SCREENSHOT = "/tmp/fees_mine.png"


def _card(provider: str, product: str, credit: str, debit: str, *, fees: list[dict[str, Any]],
          example: bool = False) -> dict[str, Any]:
    return {"provider": provider, "product": product, "merchant_class": "standard",
            "rates": [{"channel": "card", "card_type": "credit", "rate_bp": credit},
                      {"channel": "card", "card_type": "debit", "rate_bp": debit, "cap_fen": 2000},
                      {"channel": "qr", "card_type": "any", "rate_bp": "38"}],
            "periodic_fees": fees, "deposit": {"fen": 9900, "refund_volume_fen": 3_000_000, "within_days": 90},
            "valid_from": "2026-01-01", "source": f"{provider} 价目表", "source_date": "2026-01-01",
            "is_example": example}


def _seed(page: Any, base: str, tmp_path: Path) -> int:
    """Two cards that cross and an example card; the demo merchant on the first; a morning of its traffic."""
    found = page.request.get(f"{base}/api/v1/terminals?q={DEMO_TID}", headers=ADMIN).json()["items"]
    merchant_id = found[0]["merchant_id"]
    ids = []
    for card in (_card("E2E 甲支付", "pos_smart", "60", "50", fees=[{"name": "流量费", "fen": 3600, "period": "year"}]),
                 _card("E2E 乙支付", "pos_classic", "50", "42", fees=[{"name": "服务费", "fen": 6000,
                                                                       "period": "month"}]),
                 _card("E2E 示例支付", "pos_smart", "55", "45", fees=[], example=True)):
        made = page.request.post(f"{base}/api/v1/fees/rate-cards", data=card, headers=ADMIN)
        assert made.status == 201, made.text()
        ids.append(made.json()["id"])
    contract = page.request.put(f"{base}/api/v1/fees/merchants/{merchant_id}/contract", headers=ADMIN,
                                data={"rate_card_id": ids[0], "registered_mcc": "5411"})
    assert contract.ok, contract.text()
    steps = []
    for n in range(12):
        pan, fen = (DEBIT_PAN, 30_000 + 1_000 * n) if n % 3 else (CREDIT_PAN, 120_000)
        request = purchase(DEMO_TID, f"{100 + n:06d}", pan=pan, f4=f"{fen:012d}")
        steps += [(60.0 * n, ">", request), (60.0 * n + 0.5, "<", answer(request, "00"))]
    log = tmp_path / "shop-fees.log"
    log.write_text(log_text(steps, utcnow() - timedelta(minutes=30)))
    uploaded = page.request.post(f"{base}/api/v1/traffic/analyses", headers=ADMIN,
                                 multipart={"file": {"name": log.name, "mimeType": "text/plain",
                                                     "buffer": log.read_bytes()}})
    assert uploaded.status == 201, uploaded.text()
    return int(merchant_id)


def _fits_the_phone(browser: Any) -> bool:
    return bool(browser.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH)


def test_the_merchant_sees_its_own_mix_and_compares_the_cards_on_a_phone(live_server: str, page: Any,
                                                                         tmp_path: Path) -> None:
    merchant_id = _seed(page, live_server, tmp_path)
    mix = page.request.get(f"{live_server}/api/v1/fees/merchants/{merchant_id}/mix", headers=ADMIN).json()
    assert mix["source"] == "traffic", mix
    expected = {line["card_type"]: line["count"] for line in mix["lines"]}
    assert expected.get("debit", 0) >= 8 and expected.get("credit", 0) >= 4, expected

    log_in(page, live_server, "merchant")
    page.click("[data-testid=nav-fees]")
    page.wait_for_url(f"{live_server}/fees")
    assert page.locator("[data-testid=mix-source]").get_attribute("data-source") == "traffic"
    assert "来自您终端的交易记录" in page.locator("[data-testid=mix-source]").inner_text()
    shown = {row.get_attribute("data-card-type"): int(row.locator("[data-testid=mix-count]").inner_text())
             for row in page.locator("[data-testid=mix-lines] li[data-card-type]").all()}
    assert shown == expected, (shown, expected)
    assert "E2E 甲支付" in page.locator("[data-testid=cost]").inner_text()
    assert re.fullmatch(r"[\d,]+\.\d\d", page.locator("[data-testid=month-cost]").inner_text())
    assert page.locator("[data-testid=cost-lines] li[data-line]").count() >= 3, "rates and the periodic fee"
    assert _fits_the_phone(page), "我的费用 fits a 390 px screen"
    page.screenshot(path=MINE_SCREENSHOT, full_page=True)

    page.click("[data-testid=tab-compare]")
    page.wait_for_url(f"{live_server}/fees/compare")
    chart = page.locator("[data-testid=cost-chart] svg")
    assert chart.count() == 1 and chart.locator("polyline").count() >= 3
    offers = page.locator("[data-testid=offer]")
    months = [float(m.replace(",", "")) for m in page.locator("[data-testid=offer-month]").all_inner_texts()]
    assert offers.count() >= 3 and len(months) >= 3 and months == sorted(months), months
    assert page.locator("[data-testid=current-card]").count() == 1
    example = page.locator("[data-testid=offer]", has_text="E2E 示例支付")
    assert example.locator("[data-testid=example-badge]").inner_text() == "示例"
    crossings = page.locator("[data-testid=crossings] li").all_inner_texts()
    assert any(re.search(r"月交易额超过 [\d,]+\.\d\d 元时，.+ 比 .+ 更便宜", c) for c in crossings), crossings
    assert _fits_the_phone(page), "比较方案 fits a 390 px screen"
    page.screenshot(path=SCREENSHOT, full_page=True)
