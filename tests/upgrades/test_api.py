"""The upgrades API as a desk and a terminal use it: uploads verified, campaigns validated, steps reported."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from posops.core.db import Database
from tests.conftest import Fleet
from tests.helpers import add_colleague, error_fields
from tests.terminals.flows import ok
from tests.upgrades.test_authorization import package_form
from tests.upgrades.world import close_every_shop_now

PAX = 1  # fleet.terminals_a[1] is merchant A's PAX A920


def _terminal_headers(client: TestClient, fleet: Fleet, terminal_id: int) -> dict[str, str]:
    token = ok(client.post(f"/api/v1/terminals/{terminal_id}/telemetry-token", headers=fleet.headers("admin")),
               201)["token"]
    return {"Authorization": f"Bearer {token}"}


def test_an_upload_with_a_wrong_checksum_is_refused_naming_the_field(client: TestClient, fleet: Fleet) -> None:
    form = package_form("3.3.0")
    form["data"]["sha256"] = "0" * 64
    response = client.post("/api/v1/upgrades/packages", headers=fleet.headers("agent"), **form)
    assert response.status_code == 422 and error_fields(response) == ["sha256"]
    assert ok(client.get("/api/v1/upgrades/packages", headers=fleet.headers("agent"))) == []


def test_an_upload_of_a_refused_file_type_is_refused(client: TestClient, fleet: Fleet) -> None:
    form = package_form("3.3.0")
    form["files"] = {"file": ("app.exe", b"MZ...", "application/x-msdownload")}
    response = client.post("/api/v1/upgrades/packages", headers=fleet.headers("agent"), **form)
    assert response.status_code == 422 and error_fields(response) == ["file"]


@pytest.mark.parametrize(("waves", "field"), [
    ([{"percent": 50}, {"percent": 10}, {"percent": 100}], "waves"),
    ([{"percent": 10}, {"percent": 50}], "waves"),
])
def test_a_campaign_with_a_broken_wave_plan_is_refused(client: TestClient, fleet: Fleet, waves: list[dict[str, int]],
                                                      field: str) -> None:
    package = ok(client.post("/api/v1/upgrades/packages", headers=fleet.headers("agent"),
                             **package_form("3.3.0")), 201)["id"]
    response = client.post("/api/v1/upgrades/campaigns", headers=fleet.headers("agent"),
                           json={"name": "x", "package_id": package, "waves": waves})
    assert response.status_code == 422
    assert ok(client.get("/api/v1/upgrades/campaigns", headers=fleet.headers("agent")))["total"] == 0


def test_a_campaign_start_without_a_time_zone_is_refused(client: TestClient, fleet: Fleet) -> None:
    package = ok(client.post("/api/v1/upgrades/packages", headers=fleet.headers("agent"),
                             **package_form("3.3.0")), 201)["id"]
    response = client.post("/api/v1/upgrades/campaigns", headers=fleet.headers("agent"),
                           json={"name": "x", "package_id": package, "starts_at": "2026-12-10T02:00:00"})
    assert response.status_code == 422


def test_a_terminal_asks_installs_and_reports_each_step_once(client: TestClient, fleet: Fleet, db: Database) -> None:
    terminal = fleet.terminals_a[PAX]
    headers = _terminal_headers(client, fleet, terminal)
    assert ok(client.get("/api/v1/upgrades/next", headers=headers))["reason"] == "nothing_to_install"
    package = ok(client.post("/api/v1/upgrades/packages", headers=fleet.headers("agent"),
                             **package_form("3.3.0")), 201)["id"]
    campaign = ok(client.post("/api/v1/upgrades/campaigns", headers=fleet.headers("agent"), json={
        "name": "全量", "package_id": package, "window_start": None, "window_end": None,
        "waves": [{"percent": 100, "soak_minutes": 0}]}), 201)["id"]
    checker = add_colleague(db, fleet, "agent")
    ok(client.post(f"/api/v1/upgrades/campaigns/{campaign}/approve", headers=fleet.headers(checker)))
    close_every_shop_now(db)

    offer = ok(client.get("/api/v1/upgrades/next", headers=headers))
    assert offer["install"] and offer["version"] == "3.3.0"
    assert offer["sha256"] == hashlib.sha256(b"package 3.3.0").hexdigest()
    download = client.get(offer["download_path"], headers=headers)
    assert download.status_code == 200 and download.content == b"package 3.3.0"

    at = datetime.now(UTC).isoformat()
    steps = [{"report_id": f"r-{step}", "campaign_id": campaign, "step": step, "at": at}
             for step in ("downloading", "downloaded", "installing", "installed")]
    first = ok(client.post("/api/v1/upgrades/reports", headers=headers, json={"reports": steps}))
    assert [r["state"] for r in first["results"]] == ["downloading", "downloaded", "installing", "installed"]
    again = ok(client.post("/api/v1/upgrades/reports", headers=headers, json={"reports": steps[-1:]}))
    assert again["results"][0]["duplicate"] is True
    terminal_record = ok(client.get(f"/api/v1/terminals/{terminal}", headers=fleet.headers("agent")))
    assert terminal_record["app_version"] == "3.3.0"
    assert ok(client.get("/api/v1/upgrades/next", headers=headers))["install"] is False


def test_another_terminal_may_not_download_a_package_it_is_not_offered(client: TestClient, fleet: Fleet) -> None:
    package = ok(client.post("/api/v1/upgrades/packages", headers=fleet.headers("agent"),
                             **package_form("3.3.0")), 201)["id"]
    headers = _terminal_headers(client, fleet, fleet.terminals_a[0])
    assert client.get(f"/api/v1/upgrades/packages/{package}/file", headers=headers).status_code == 404


@pytest.mark.parametrize("report", [
    {"step": "failed"},
    {"step": "installed", "code": "install_failed"},
    {"step": "downloading", "at": "2026-12-01T02:00:00"},
])
def test_a_report_that_does_not_add_up_is_refused(client: TestClient, fleet: Fleet, report: dict[str, str]) -> None:
    headers = _terminal_headers(client, fleet, fleet.terminals_a[PAX])
    body = {"report_id": "r1", "campaign_id": 1, "at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            **report}
    assert client.post("/api/v1/upgrades/reports", headers=headers, json={"reports": [body]}).status_code == 422


def test_the_desk_tags_terminals_and_sets_a_shops_hours_for_campaigns_to_target(client: TestClient,
                                                                               fleet: Fleet) -> None:
    terminal = fleet.terminals_a[PAX]
    tagged = ok(client.patch(f"/api/v1/terminals/{terminal}", headers=fleet.headers("agent"),
                             json={"tags": ["pilot", "连锁A"]}))
    assert tagged["tags"] == ["pilot", "连锁A"]
    assert client.patch(f"/api/v1/terminals/{terminal}", headers=fleet.headers("agent"),
                        json={"tags": ["no spaces"]}).status_code == 422
    merchant = ok(client.patch(f"/api/v1/merchants/{fleet.merchant_a}", headers=fleet.headers("agent"),
                               json={"time_zone": "Asia/Urumqi", "opens_at": "10:00", "closes_at": "02:00"}))
    assert (merchant["time_zone"], merchant["opens_at"], merchant["closes_at"]) == ("Asia/Urumqi", "10:00", "02:00")
    refused = client.patch(f"/api/v1/merchants/{fleet.merchant_a}", headers=fleet.headers("agent"),
                           json={"time_zone": "Mars/Olympus"})
    assert refused.status_code == 422 and error_fields(refused) == ["time_zone"]
    package = ok(client.post("/api/v1/upgrades/packages", headers=fleet.headers("agent"),
                             **package_form("3.3.0")), 201)["id"]
    preview = ok(client.post("/api/v1/upgrades/campaigns/preview", headers=fleet.headers("agent"),
                             json={"name": "pilot", "package_id": package, "filter": {"tags": ["pilot"]}}))
    assert preview["targets"] == 1 and preview["waves"][0]["sample"] == ["SN-TEST-0001"]
