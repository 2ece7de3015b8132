"""A card number a merchant types into a complaint is never kept in full."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Fleet


def test_a_card_number_in_the_complaint_is_kept_masked(client: TestClient, fleet: Fleet) -> None:
    answer = client.post("/api/v1/diagnoses", headers=fleet.headers("merchant"),
                         json={"text": "刷卡 6222 0212 3456 7890 123 一直提示读卡失败"})
    assert answer.status_code == 201
    shown = client.get(f"/api/v1/diagnoses/{answer.json()['id']}", headers=fleet.headers("merchant")).text
    assert "6222021234567890123" not in shown.replace(" ", "") and "622202*********0123" in shown
