"""Console pages of upgrades: packages and the matrix, the campaign builder's preview, the campaign page's buttons."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from posops.core.config import Settings
from posops.core.db import Database, utcnow
from posops.terminals.models import Terminal
from posops.upgrades import service as upgrades
from posops.upgrades.models import Target
from posops.upgrades.schemas import CampaignIn, CampaignStatus, HaltIn, TargetFilter, WaveIn
from tests import authorization as matrix
from tests.conftest import Fleet
from tests.helpers import add_colleague, csrf_token, login
from tests.upgrades.world import MODEL, World, add_package, beat, build_world, install

ROLES = ["merchant", "agent", "risk", "technician", "admin"]
HTML = {"accept": "text/html"}
CHECKER = "upgrade_checker"


OLD = "7.0.0"
"""The version the shop's terminals run (the rollback's target): apart from the other upgrade tests' versions."""


def _world(db: Database, fleet: Fleet) -> World:
    """The upgrade shop on OLD, built by the fleet's agent, with a second agent (CHECKER) to approve."""
    checker = add_colleague(db, fleet, "agent", CHECKER)
    return build_world(db, fleet.users["agent"], fleet.users[checker], app_version=OLD)


def _section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1].split("</section>")[0]


def _token(client: TestClient, username: str, page: str = "/upgrades/campaigns") -> str:
    login(client, username)
    return csrf_token(client.get(page).text)


def _file(content: bytes, name: str = "app.bin") -> dict[str, Any]:
    return {"file": (name, content, "application/octet-stream")}


def _package_form(content: bytes, version: str, sha256: str | None = None) -> dict[str, str]:
    return {"kind": "app", "model": MODEL, "version": version, "sha256": sha256 or hashlib.sha256(content).hexdigest(),
            "size_bytes": str(len(content)), "notes_zh": "修复签到超时", "notes_en": "Fixes sign-in timeouts"}


def _campaign(world: World, package_id: int, *, name: str = "A920 upgrade", waves: tuple[int, ...] = (10, 100),
              merchant_id: int | None = None) -> CampaignIn:
    """A campaign of the package over the shop's terminals (or another merchant's), an hour's soak per wave."""
    return CampaignIn(name=name, package_id=package_id,
                      filter=TargetFilter(merchant_ids=[merchant_id or world.merchant_id]),
                      waves=[WaveIn(percent=p, soak_minutes=60) for p in waves])


def _started(world: World, package_id: int, **fields: Any) -> int:
    """Create a campaign (the shop's agent) and have the second agent approve it: it runs."""
    created = upgrades.create_campaign(world.db, world.maker, _campaign(world, package_id, **fields))
    upgrades.approve_campaign(world.db, world.checker, created.id)
    return created.id


def _halted(world: World, var_dir: Path) -> int:
    """A campaign of 7.1.0 over the shop whose first wave fails sign-in on every terminal upgraded: the gate halts."""
    add_package(world, var_dir, OLD)
    campaign_id = _started(world, add_package(world, var_dir, "7.1.0"))
    with world.db.transaction() as session:
        first = list(session.scalars(select(Terminal.serial_number).join(Target, Target.terminal_id == Terminal.id)
                                     .where(Target.campaign_id == campaign_id, Target.wave == 0)))
    start = utcnow()
    for sn in first:
        install(world, sn, campaign_id, start + timedelta(minutes=1))
    beat(world, start + timedelta(minutes=10), {sn: "7.1.0" for sn in first}, failing=set(first))
    run = upgrades.run_gate(world.db, now=start + timedelta(minutes=12))  # before silence counts as heartbeat loss
    assert campaign_id in run.halted, run
    return campaign_id


# packages, the matrix and minimums ----------------------------------------------------------------


def test_a_wrong_checksum_is_refused_on_the_page_in_both_languages_and_nothing_is_stored(
        client: TestClient, fleet: Fleet, db: Database, settings: Settings) -> None:
    content = b"posops console package 7.1.0"
    wrong = hashlib.sha256(b"something else").hexdigest()
    token = _token(client, "agent", "/upgrades/packages")
    for lang, words in (("zh-CN", "文件的 SHA-256 与登记的不符"), ("en", "does not match the one given")):
        client.get(f"/lang/{lang}")
        refused = client.post("/upgrades/packages", files=_file(content), follow_redirects=False,
                              data={"csrf_token": token, **_package_form(content, "7.1.0", wrong)})
        assert refused.status_code == 422
        upload = _section(refused.text, "upload-section")
        assert 'data-testid="refusal"' in upload and words in upload
        assert hashlib.sha256(content).hexdigest() in upload, "the file's own hash is said"
        assert 'value="7.1.0"' in upload and "修复签到超时" in upload, "what was typed is kept"
    assert upgrades.list_packages(db, fleet.users["agent"]) == []
    assert not list((settings.var_dir / "packages").glob("*")), "the refused file is not kept"

    client.get("/lang/zh-CN")
    added = client.post("/upgrades/packages", data={"csrf_token": token, **_package_form(content, "7.1.0")},
                        files=_file(content), follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"].startswith("/upgrades/packages?added=")
    page = client.get(added.headers["location"]).text
    sha = hashlib.sha256(content).hexdigest()
    assert 'data-testid="package-added"' in page and "7.1.0" in _section(page, "packages")
    assert f'title="{sha}">{sha[:12]}…<' in page, "shortened, the whole of it in the title"
    assert "修复签到超时" in page and "Fixes sign-in timeouts" not in page, "the notes in the page's language"


def test_the_matrix_and_the_minimums_are_set_from_their_forms(client: TestClient, fleet: Fleet) -> None:
    token = _token(client, "agent", "/upgrades/packages")
    for app, compatible in (("7.1.0", "1"), ("7.2.0", "0")):
        set_cell = client.post("/upgrades/compatibility", follow_redirects=False, data={
            "csrf_token": token, "model": MODEL, "firmware": "PayDroid-8.1", "app": app, "compatible": compatible})
        assert set_cell.status_code == 303, set_cell.text
    minimum = client.post("/upgrades/minimums", follow_redirects=False, data={
        "csrf_token": token, "model": MODEL, "kind": "app", "version": "3.2.0", "acquirer": "银联商务"})
    assert minimum.status_code == 303
    page = client.get("/upgrades/packages").text
    grid = _section(page, "compatibility")
    assert 'data-cell="PayDroid-8.1|7.1.0">✓' in grid and 'data-cell="PayDroid-8.1|7.2.0">✗' in grid
    assert "3.2.0" in _section(page, "minimums") and "银联商务" in _section(page, "minimums")
    bad = client.post("/upgrades/compatibility", data={"csrf_token": token, "model": MODEL, "firmware": "PayDroid 8.1",
                                                       "app": " "})
    assert bad.status_code == 422 and "应用版本：" in _section(bad.text, "compatibility")
    assert 'value="PayDroid 8.1"' in _section(bad.text, "compatibility"), "what was typed is kept"


# the builder --------------------------------------------------------------------------------------


def _builder_form(token: str, package_id: int, **fields: str | list[str]) -> dict[str, Any]:
    return {"csrf_token": token, "package_id": str(package_id), "name": "A920 7.1.0", "window_start": "01:00",
            "window_end": "05:00", "mode": "soft", "wave_percent": ["1", "10", "50", "100", ""],
            "wave_soak": ["240", "240", "240", "240", ""], **fields}


def test_the_builder_previews_each_wave_and_who_is_left_out_then_creates(client: TestClient, fleet: Fleet,
                                                                         db: Database, settings: Settings) -> None:
    world = _world(db, fleet)
    package = add_package(world, settings.var_dir, "7.1.0")
    with db.transaction() as session:
        for sn in ("UPG00000", "UPG00001"):
            terminal = session.scalar(select(Terminal).where(Terminal.serial_number == sn))
            assert terminal is not None
            terminal.app_version = "7.1.0"
    token = _token(client, "agent", f"/upgrades/campaigns/new?package={package}")
    assert f'<option value="{package}" selected' in client.get(f"/upgrades/campaigns/new?package={package}").text
    form = _builder_form(token, package, merchant_ids=str(world.merchant_id))
    shown = client.post("/upgrades/campaigns/preview", data=form)
    assert shown.status_code == 200, shown.text
    preview = _section(shown.text, "preview")
    counts = [int(n) for n in re.findall(r'data-testid="wave-count"><strong>(\d+)</strong>', preview)]
    expected = upgrades.preview_campaign(db, world.maker, _campaign(world, package, name="A920 7.1.0",
                                                                    waves=(1, 10, 50, 100)))
    assert counts == [w.terminals for w in expected.waves] and sum(counts) == 38 == expected.targets
    assert counts[0] >= 1, "the canary wave has a terminal"
    assert "已是该版本：2 台" in preview
    assert all(sn in preview for w in expected.waves for sn in w.sample)
    assert 'data-testid="create-button"' in shown.text and 'value="A920 7.1.0"' in shown.text, "the form is kept"

    created = client.post("/upgrades/campaigns", data=form, follow_redirects=False)
    assert created.status_code == 303
    page = client.get(created.headers["location"]).text
    assert 'data-status="awaiting_approval"' in page and ">38<" in _section(page, "campaign-facts")


def test_the_builder_says_what_is_wrong_with_the_waves(client: TestClient, fleet: Fleet, db: Database,
                                                       settings: Settings) -> None:
    world = _world(db, fleet)
    package = add_package(world, settings.var_dir, "7.1.0")
    token = _token(client, "agent", "/upgrades/campaigns/new")
    refused = client.post("/upgrades/campaigns/preview", data=_builder_form(
        token, package, wave_percent=["10", "50"], wave_soak=["60", "60"]))
    assert refused.status_code == 422 and "最后一个批次须达到 100%" in refused.text
    assert 'data-testid="preview"' not in refused.text and 'data-testid="create-button"' not in refused.text
    client.get("/lang/en")
    late = client.post("/upgrades/campaigns", data=_builder_form(
        token, package, starts_at="2026-12-04T02:00", expires_at="2026-12-04T01:00"))
    assert late.status_code == 422 and "The expiry must come after the start" in late.text


# the campaign page --------------------------------------------------------------------------------


def test_the_creator_sees_why_they_may_not_approve_and_a_second_agent_approves(client: TestClient, fleet: Fleet,
                                                                               db: Database,
                                                                               settings: Settings) -> None:
    world = _world(db, fleet)
    package = add_package(world, settings.var_dir, "7.1.0")
    created = upgrades.create_campaign(db, world.maker, _campaign(world, package))
    token = _token(client, "agent", f"/upgrades/campaigns/{created.id}")
    own = client.get(f"/upgrades/campaigns/{created.id}").text
    assert 'data-testid="approve-form"' not in own
    assert "您创建了这个升级任务" in _section(own, "campaign-actions"), "said before anyone clicks"
    refused = client.post(f"/upgrades/campaigns/{created.id}/approve", data={"csrf_token": token})
    assert refused.status_code == 403 and "升级任务须由另一人审批" in _section(refused.text, "campaign-name")
    assert upgrades.get_campaign(db, world.maker, created.id).status is CampaignStatus.AWAITING_APPROVAL

    token = _token(client, CHECKER, f"/upgrades/campaigns/{created.id}")
    assert 'data-testid="approve-form"' in client.get(f"/upgrades/campaigns/{created.id}").text
    approved = client.post(f"/upgrades/campaigns/{created.id}/approve", data={"csrf_token": token},
                           follow_redirects=False)
    assert approved.status_code == 303 and approved.headers["location"] == f"/upgrades/campaigns/{created.id}"
    page = client.get(f"/upgrades/campaigns/{created.id}").text
    assert 'data-status="running"' in page and CHECKER in _section(page, "campaign-facts")
    first = page.split('data-testid="wave" data-wave="0"')[1].split("</section>")[0]
    assert first.count("<svg") == 2 and "已安装 0%" in first and "等待首次健康检查" in first
    assert "本批尚未开始" in page.split('data-wave="1"')[1], "the next wave is not charted before it opens"


def test_pause_needs_a_reason_and_resume_opens_the_wave_again(client: TestClient, fleet: Fleet, db: Database,
                                                            settings: Settings) -> None:
    world = _world(db, fleet)
    campaign_id = _started(world, add_package(world, settings.var_dir, "7.1.0"))
    token = _token(client, "agent", f"/upgrades/campaigns/{campaign_id}")
    bare = client.post(f"/upgrades/campaigns/{campaign_id}/pause", data={"csrf_token": token, "reason": " "})
    assert bare.status_code == 422 and "原因：" in bare.text and 'data-testid="pause-form"' in bare.text
    paused = client.post(f"/upgrades/campaigns/{campaign_id}/pause", follow_redirects=False,
                         data={"csrf_token": token, "reason": "商户投诉，先停一下"})
    assert paused.status_code == 303
    page = client.get(f"/upgrades/campaigns/{campaign_id}").text
    assert 'data-status="paused"' in page and 'data-testid="resume-form"' in page and 'data-testid="pause-form"' \
        not in page
    client.post(f"/upgrades/campaigns/{campaign_id}/resume", data={"csrf_token": token, "reason": "已确认无碍"})
    assert upgrades.get_campaign(db, world.maker, campaign_id).status is CampaignStatus.RUNNING


def test_only_a_halted_campaign_offers_the_rollback_and_links_its_incident(client: TestClient, fleet: Fleet,
                                                                           db: Database,
                                                                           settings: Settings) -> None:
    world = _world(db, fleet)
    running = _started(world, add_package(world, settings.var_dir, "7.2.0"), waves=(100,))
    halted = _halted(world, settings.var_dir)
    token = _token(client, "agent", f"/upgrades/campaigns/{running}")
    assert 'data-testid="rollback-form"' not in client.get(f"/upgrades/campaigns/{running}").text
    page = client.get(f"/upgrades/campaigns/{halted}").text
    incident = upgrades.get_campaign(db, world.maker, halted).incident_id
    assert incident is not None
    box = _section(page, "halted")
    assert "签到失败" in box and f'href="/incidents/{incident}"' in box and 'data-testid="rollback-form"' in box
    signals = page.split('data-testid="wave-signals"')[1].split("</table>")[0]
    assert re.search(r'data-signal="sign_in_failure" class="ug-regressed">.*?100\.0%', signals, re.S)
    assert client.get(f"/incidents/{incident}", headers=HTML).status_code == 200, "the link leads somewhere"

    rolled = client.post(f"/upgrades/campaigns/{halted}/rollback", data={"csrf_token": token}, follow_redirects=False)
    assert rolled.status_code == 303
    rollback_id = int(rolled.headers["location"].rsplit("/", 1)[1])
    assert rollback_id not in (halted, running)
    back = client.get(f"/upgrades/campaigns/{rollback_id}").text
    assert 'data-status="running"' in back and OLD in _section(back, "campaign-facts")
    again = client.get(f"/upgrades/campaigns/{halted}").text
    assert 'data-testid="rollback-form"' not in again and f'href="/upgrades/campaigns/{rollback_id}"' in again
    login(client, "risk")
    assert 'data-testid="rollback-form"' not in client.get(f"/upgrades/campaigns/{halted}").text, "risk reads only"


def test_the_list_filters_by_status_and_the_nav_link_is_the_desks(client: TestClient, fleet: Fleet, db: Database,
                                                                 settings: Settings) -> None:
    world = _world(db, fleet)
    package = add_package(world, settings.var_dir, "7.1.0")
    waiting = upgrades.create_campaign(db, world.maker, _campaign(world, package)).id
    running = _started(world, package, merchant_id=fleet.merchant_a)
    login(client, "agent")
    page = client.get("/upgrades/campaigns").text
    assert f'data-campaign="{waiting}"' in page and f'data-campaign="{running}"' in page
    assert 'data-testid="nav-upgrades"' in page and "软件升级" in page
    only = client.get("/upgrades/campaigns?status=running").text
    assert f'data-campaign="{running}"' in only and f'data-campaign="{waiting}"' not in only
    client.get("/lang/en")
    english = client.get("/upgrades/campaigns").text
    assert "Awaiting approval" in english and "Upgrades" in english
    for path in ("/upgrades/campaigns", f"/upgrades/campaigns/{running}", "/upgrades/packages",
                 "/upgrades/campaigns/new"):
        text = client.get(path).text
        assert "upgrades.page." not in text and "upgrades.nav." not in text, f"a key shows on {path}"
    login(client, "merchant")
    assert 'data-testid="nav-upgrades"' not in client.get("/terminals").text
    assert client.get("/upgrades/campaigns", headers=HTML).status_code == 403


# the route × role matrix of the pages --------------------------------------------------------------


@dataclass
class Upgrades:
    """Campaigns in the states the buttons need, built by the fleet's agent, and the shop's new package."""

    package: int
    awaiting: int
    to_cancel: int
    running: int
    paused: int
    halted: int
    merchant_id: int


@pytest.fixture
def campaigned(fleet: Fleet, db: Database, settings: Settings) -> Fleet:
    """The fleet with the upgrade shop and its campaigns (on ``fleet.console_upgrades``)."""
    world = _world(db, fleet)
    halted = _halted(world, settings.var_dir)
    package = add_package(world, settings.var_dir, "7.2.0")

    def built(name: str) -> int:
        return upgrades.create_campaign(db, world.maker, _campaign(world, package, name=name)).id
    awaiting, to_cancel, running, paused = built("awaiting"), built("to cancel"), built("running"), built("paused")
    for campaign_id in (running, paused):
        upgrades.approve_campaign(db, world.checker, campaign_id)
    upgrades.pause_campaign(db, world.maker, paused, HaltIn(reason="held"))
    fleet.console_upgrades = Upgrades(package, awaiting, to_cancel, running, paused, halted,  # type: ignore[attr-defined]
                              world.merchant_id)
    return fleet


def _u(fleet: Fleet) -> Upgrades:
    found: Upgrades = fleet.console_upgrades  # type: ignore[attr-defined]
    return found


def _expect(merchant: int, agent: int, risk: int, technician: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (merchant, agent, risk, technician, admin), strict=True))


READ, DESK = _expect(403, 200, 200, 200, 200), _expect(403, 200, 403, 403, 200)
CHANGE = _expect(403, 303, 403, 403, 303)
PACKAGE_FILE = b"posops matrix package 9.0.0"

PAGES: list[matrix.Page] = [
    ("packages", "GET", lambda f: "/upgrades/packages", READ),
    ("campaigns", "GET", lambda f: "/upgrades/campaigns", READ),
    ("campaigns, running", "GET", lambda f: "/upgrades/campaigns?status=running&page=1", READ),
    ("builder", "GET", lambda f: f"/upgrades/campaigns/new?package={_u(f).package}", DESK),
    ("campaign, awaiting", "GET", lambda f: f"/upgrades/campaigns/{_u(f).awaiting}", READ),
    ("campaign, halted", "GET", lambda f: f"/upgrades/campaigns/{_u(f).halted}", READ),
]

FORMS: list[matrix.Form] = [
    ("upload", "POST", lambda f: "/upgrades/packages",
     lambda f: {"data": _package_form(PACKAGE_FILE, "9.0.0"), "files": _file(PACKAGE_FILE)}, CHANGE),
    ("compatibility", "POST", lambda f: "/upgrades/compatibility",
     lambda f: {"data": {"model": MODEL, "firmware": "PayDroid-8.1", "app": "9.0.0", "compatible": "1"}}, CHANGE),
    ("minimum", "POST", lambda f: "/upgrades/minimums",
     lambda f: {"data": {"model": MODEL, "kind": "app", "version": "3.2.0"}}, CHANGE),
    ("preview", "POST", lambda f: "/upgrades/campaigns/preview",
     lambda f: {"data": {"package_id": str(_u(f).package), "name": "matrix", "merchant_ids": str(_u(f).merchant_id)}},
     DESK),
    ("create", "POST", lambda f: "/upgrades/campaigns",
     lambda f: {"data": {"package_id": str(_u(f).package), "name": "matrix", "merchant_ids": str(_u(f).merchant_id)}},
     CHANGE),
    ("approve, built by the agent", "POST", lambda f: f"/upgrades/campaigns/{_u(f).awaiting}/approve",
     lambda f: {"data": {}}, _expect(403, 403, 403, 403, 303)),
    ("cancel", "POST", lambda f: f"/upgrades/campaigns/{_u(f).to_cancel}/cancel",
     lambda f: {"data": {"reason": "换个时间"}}, CHANGE),
    ("pause", "POST", lambda f: f"/upgrades/campaigns/{_u(f).running}/pause",
     lambda f: {"data": {"reason": "先观察"}}, CHANGE),
    ("resume", "POST", lambda f: f"/upgrades/campaigns/{_u(f).paused}/resume",
     lambda f: {"data": {"reason": "继续"}}, CHANGE),
    ("rollback", "POST", lambda f: f"/upgrades/campaigns/{_u(f).halted}/rollback", lambda f: {"data": {}}, CHANGE),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_upgrades_page_and_form_answers_each_role_as_designed(client: TestClient, campaigned: Fleet,
                                                                   role: str) -> None:
    matrix.check_pages_answer_role(client, campaigned, role, PAGES)
    matrix.check_forms_answer_role(client, campaigned, role, FORMS)


def test_every_upgrades_page_and_form_sends_anonymous_visitors_to_login(client: TestClient,
                                                                        campaigned: Fleet) -> None:
    matrix.check_pages_send_anonymous_to_login(client, campaigned, PAGES)
    matrix.check_forms_send_anonymous_to_login(client, campaigned, FORMS)
