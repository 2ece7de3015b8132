"""The demo is a living fleet: a small demo checked through the services and the console, as its users see it."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

import posops
from posops.app import create_app
from posops.core.auth import Principal, Role, hash_password, verify_password
from posops.core.config import Settings
from posops.core.db import Base, Database, utcnow
from posops.core.i18n import translate
from posops.core.migrate import upgrade
from posops.core.models import User
from posops.demo import DEMO_PASSWORDS, load_demo
from posops.demo_summary import DemoSummary
from posops.diagnosis import service as diagnosis
from posops.diagnosis.vocabulary import SessionStatus
from posops.iso8583 import service as traffic
from posops.onboarding import service as onboarding
from posops.onboarding.workflow import ApplicationStatus
from posops.reactivation import service as reactivation
from posops.reactivation.conditions import RequestStatus
from posops.telemetry import service as telemetry
from posops.telemetry.analytics import IncidentStatus
from posops.telemetry.models import DeadLetter, HeartbeatRecord, TelemetrySnapshot
from posops.telemetry.service import Message, store_messages, store_received
from posops.terminals import service as terminals
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus
from posops.terminals.models import Merchant, MerchantNotice, Terminal
from posops.terminals.schemas import TerminalFilters
from posops.upgrades import service as upgrades
from posops.upgrades.schemas import CampaignStatus

FLEET = 120
"""Small enough to stay quick, big enough for a carrier group the outage scan can open an incident for."""
EMPTY_MESSAGE = re.compile(r"\{%-? (?:else|if [^%]*is none) -?%\}\s*"
                           r"<p class=\"muted\"[^>]*>\s*\{\{ t\('([\w.]+)'\) \}\}")
"""A card's "nothing yet" line in a terminal-page template: the muted paragraph shown instead of content."""
UNIONPAY_CARD = re.compile(r"(?<!\d)62\d{11,17}(?!\d)")


@dataclass(frozen=True)
class Demo:
    """A loaded demo: its database, what the load said, where its uploads went."""

    db: Database
    url: str
    summary: DemoSummary
    var_dir: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    upgrade(url)
    db = Database(url)
    return Demo(db, url, load_demo(db, terminals=FLEET, var_dir=folder / "var"), folder / "var")


def _user(db: Database, username: str) -> Principal:
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return Principal(user.id, user.username, Role(user.role), user.merchant_id)


def _fleet(db: Database, agent: Principal, status: str | None = None) -> list[int]:
    page = terminals.list_terminals(db, agent, TerminalFilters(status=status), per_page=200)
    return [t.id for t in page.items]


def _showcase(demo: Demo, agent: Principal) -> tuple[int, int]:
    healthy, suspended = demo.summary.showcase
    return (terminals.terminal_id_for(demo.db, agent, healthy), terminals.terminal_id_for(demo.db, agent, suspended))


def test_the_fleet_reported_for_thirty_days_with_a_few_faults(demo: Demo) -> None:
    agent = _user(demo.db, "agent")
    healthy, _ = _showcase(demo, agent)
    now = utcnow()
    for days_ago in (0, 7, 14, 21, 28):
        history = telemetry.terminal_history(demo.db, agent, healthy, hours=24, now=now - timedelta(days=days_ago))
        assert history.signal_dbm or history.battery_pct, f"no heartbeat in the day {days_ago} days ago"
    states = [telemetry.terminal_telemetry(demo.db, agent, t) for t in _fleet(demo.db, agent)]
    online = [s for s in states if s.online]
    assert len(online) > 0.9 * len(states), "the snapshots are fresh from the load"
    assert 0 < sum(s.online is False for s in states) <= 5 and 0 < sum(s.online is None for s in states) <= 10
    assert [s for s in online if s.evidence.get("battery_level") == "low"], "one battery nearly empty"
    failing_readers = [s for s in online if s.evidence.get("screen_notice") == "read_error"]
    assert len(failing_readers) == 1
    reader = telemetry.terminal_history(demo.db, agent, failing_readers[0].terminal_id, hours=24)
    assert max(p.value for p in reader.read_error_rate) > 0.2, "its reader fails a fifth of the reads or more"
    assert all(p.value < 0.1 for p in telemetry.terminal_history(demo.db, agent, healthy).read_error_rate)


def test_imported_traffic_shows_failures_and_no_card_number(demo: Demo) -> None:
    agent = _user(demo.db, "agent")
    sections = [traffic.terminal_section(demo.db, agent, t) for t in _fleet(demo.db, agent)]
    seen = [s for s in sections if s.traffic is not None]
    assert len(seen) >= 5
    assert all(s.traffic is not None and s.traffic.source_name.endswith(".log") for s in seen)
    assert sum(1 for s in seen if s.failures) >= 4, "declines and refusals by response code"
    assert any(s.data["timeouts"] > 0 and s.data["reversals"] > 0 for s in seen), "a purchase lost in the outage"
    assert any(s.data["sign_ins"]["failed"] > 0 for s in seen), "a terminal that cannot sign in"
    assert any(s.data["storms"] for s in seen), "a storm of one code"
    with demo.db.transaction() as session:
        stored = [json.dumps(row, ensure_ascii=False, default=str) for table in
                  ("traffic_analyses", "terminal_traffic", "audit_events")
                  for row in session.execute(text(f"SELECT * FROM {table}")).all()]
    assert stored and not [m for row in stored for m in UNIONPAY_CARD.findall(row)], "no card number is stored"


def test_exactly_one_incident_is_open_and_one_closed_last_week(demo: Demo) -> None:
    agent = _user(demo.db, "agent")
    incidents = [i for i in telemetry.list_incidents(demo.db, agent) if i.dimension != "campaign"]
    assert Counter(i.status for i in incidents) == {IncidentStatus.OPEN: 1, IncidentStatus.CLOSED: 1}
    now = utcnow()
    closed = next(i for i in incidents if i.status == IncidentStatus.CLOSED)
    assert closed.closed_at is not None and now - timedelta(days=8) < closed.closed_at < now - timedelta(days=4)
    assert closed.peak_share >= 0.3 and closed.share < 0.15, "it opened on an outage and closed on calm"
    current = telemetry.get_incident(demo.db, agent, next(i.id for i in incidents if i.status == IncidentStatus.OPEN))
    assert current.dimension == "area" and now - current.opened_at < timedelta(hours=2)
    assert len(current.samples) >= 3 and len(current.affected_terminals) >= 5
    affected = telemetry.terminal_telemetry(demo.db, agent, current.affected_terminals[0].terminal_id)
    assert [i.id for i in affected.incidents] == [current.id], "an affected terminal's page tells of it"


def test_one_upgrade_campaign_completed_and_one_halted_in_its_canary_with_an_incident(demo: Demo) -> None:
    agent = _user(demo.db, "agent")
    lines = upgrades.list_campaigns(demo.db, agent).items
    assert Counter(c.status for c in lines) == {CampaignStatus.COMPLETED: 1, CampaignStatus.HALTED: 1}
    assert "upgrade campaigns: 1 halted, 1 completed" in demo.summary.paragraph()
    good = upgrades.get_campaign(demo.db, agent, next(c.id for c in lines if c.status is CampaignStatus.COMPLETED))
    bad = upgrades.get_campaign(demo.db, agent, next(c.id for c in lines if c.status is CampaignStatus.HALTED))
    assert len(good.waves) == 3 and all(w.verdict == "advance" for w in good.waves)
    assert all(w.states == {"installed": w.targeted} for w in good.waves), "every target installed, wave by wave"
    assert (good.created_by, good.approved_by) == (bad.created_by, bad.approved_by) == ("agent", "checker")
    # a wave a night: each advances once its shops have signed in the morning after; done before the bad one began
    assert good.started_at and good.ended_at and bad.started_at
    assert timedelta(days=2) < good.ended_at - good.started_at < timedelta(days=3) and good.ended_at < bad.started_at

    canary = bad.waves[0]
    assert bad.halted_on == "sign_in_failure" and bad.halt_detail and bad.halt_detail["wave"] == 0
    assert canary.verdict == "halt" and canary.states == {"installed": canary.targeted} and canary.targeted >= 5
    assert all(set(w.states) == {"cancelled"} for w in bad.waves[1:]), "the waves after the canary never opened"
    assert bad.actions == ["rollback"] and bad.package.model == good.package.model
    assert bad.ended_at and bad.started_at and bad.ended_at - bad.started_at <= timedelta(hours=1)
    assert bad.incident_id is not None
    incident = telemetry.get_incident(demo.db, agent, bad.incident_id)
    assert incident.dimension == "campaign" and incident.status == IncidentStatus.OPEN
    assert len(incident.affected_terminals) == canary.targeted
    with demo.db.transaction() as session:
        versions = Counter(session.scalars(select(Terminal.app_version)
                                           .where(Terminal.model == good.package.model,
                                                  Terminal.app_version.in_((good.package.version,
                                                                            bad.package.version)))))
        notices = session.scalar(select(func.count()).select_from(MerchantNotice)
                                 .where(MerchantNotice.kind == "upgrade_halted"))
    assert versions == {good.package.version: good.targets - canary.targeted, bad.package.version: canary.targeted}
    assert notices == canary.targeted, "each upgraded terminal's merchant is told what to do"


def test_the_packages_are_stored_with_files_that_hash_to_their_checksums(demo: Demo) -> None:
    agent = _user(demo.db, "agent")
    packages = upgrades.list_packages(demo.db, agent)
    assert len(packages) == 3 and len({p.model for p in packages}) == 1 and all(p.created_by == "admin"
                                                                                 for p in packages)
    for package in packages:
        path, _ = upgrades.package_file(demo.db, package.id, principal=agent)
        content = (demo.var_dir / path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == package.sha256 and len(content) == package.size_bytes
    assert upgrades.compatibility_matrix(demo.db, agent) and upgrades.list_minimums(demo.db, agent)


def test_diagnoses_in_the_merchants_words_a_few_completed_one_in_progress(demo: Demo) -> None:
    agent = _user(demo.db, "agent")
    found = [d for t in _fleet(demo.db, agent) for d in diagnosis.history(demo.db, agent, t)]
    statuses = Counter(d.status for d in found)
    assert statuses[SessionStatus.OPEN] == 1 and statuses[SessionStatus.RESOLVED] >= 3
    assert all(re.search(r"[\u4e00-\u9fff]", d.text) for d in found), "the merchant's words, in Chinese"
    assert all(d.steps > 0 for d in found if d.status == SessionStatus.RESOLVED), "answered step by step"
    healthy, suspended = _showcase(demo, agent)
    assert diagnosis.history(demo.db, agent, healthy) and diagnosis.history(demo.db, agent, suspended)


def test_suspensions_come_with_notes_dates_arrears_and_screen_notices(demo: Demo) -> None:
    agent = _user(demo.db, "agent")
    suspended = _fleet(demo.db, agent, TerminalStatus.SUSPENDED)
    assert len(suspended) >= 4
    reasons = set()
    for terminal_id in suspended:
        lifecycle = terminals.get_lifecycle(demo.db, agent, terminal_id)
        assert lifecycle.suspension is not None and lifecycle.suspension.note
        assert lifecycle.screen_notice is not None and lifecycle.notices
        events = [e for e in terminals.timeline(demo.db, agent, terminal_id) if e.action == "suspend"]
        assert events and events[-1].reason == lifecycle.suspension.note
        assert events[-1].actor in ("agent", "risk")
        reasons.add(lifecycle.status_reason)
        if lifecycle.status_reason == SuspensionReason.ARREARS:
            assert lifecycle.suspension.unpaid_due_dates
            assert any(n.kind == "suspended" and "元" in n.body_zh for n in lifecycle.notices), "it says what is owed"
    assert {SuspensionReason.ARREARS, SuspensionReason.RISK_LIMIT} <= reasons


def test_reactivation_requests_and_onboarding_applications_in_every_state(demo: Demo) -> None:
    agent = _user(demo.db, "agent")
    requests = reactivation.list_requests(demo.db, agent, per_page=50).items
    assert {RequestStatus.SUBMITTED, RequestStatus.APPROVED, RequestStatus.REJECTED} <= {r.status for r in requests}
    assert all(r.payments for r in requests if r.reason == SuspensionReason.ARREARS), "each with its voucher"
    approved = next(r for r in requests if r.status == RequestStatus.APPROVED)
    assert terminals.get_lifecycle(demo.db, agent, approved.terminal_id).must_sign_in, "reactivated: sign in first"
    assert any(r.documents for r in requests), "documents uploaded for the risk team"
    assert next(r for r in requests if r.status == RequestStatus.REJECTED).rejection_reason
    applications = onboarding.list_applications(demo.db, agent, per_page=50).items
    wanted = {ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED, ApplicationStatus.UNDER_REVIEW,
              ApplicationStatus.APPROVED, ApplicationStatus.REJECTED}
    assert wanted <= {a.status for a in applications}
    assert all(any(m.document for m in a.materials) for a in applications), "materials uploaded as files"
    assert len(list(demo.var_dir.rglob("*.pdf"))) >= 10 and list(demo.var_dir.rglob("*.jpg"))


def _row_counts(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


def test_a_second_load_changes_nothing_but_the_passwords(demo: Demo) -> None:
    before, files = _row_counts(demo.db), sorted(demo.var_dir.rglob("*"))
    with demo.db.transaction() as session:
        session.scalars(select(User).where(User.username == "agent")).one().password_hash = hash_password("forgotten")
    again = load_demo(demo.db, terminals=FLEET, var_dir=demo.var_dir)
    assert _row_counts(demo.db) == before and sorted(demo.var_dir.rglob("*")) == files
    with demo.db.transaction() as session:
        hashed = session.scalars(select(User.password_hash).where(User.username == "agent")).one()
    assert verify_password(hashed, DEMO_PASSWORDS["agent"])
    timeless = {"online": 0, "offline": 0, "showcase": ()}  # who is online depends on the clock, not on the load
    assert replace(again, **timeless) == replace(demo.summary, **timeless)


@pytest.fixture
def console(demo: Demo) -> Iterator[TestClient]:
    settings = Settings(database_url=demo.url, secret_key="demo-test", env="test", var_dir=demo.var_dir)
    with TestClient(create_app(settings)) as client:
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        signed_in = client.post("/login", data={"username": "agent", "password": DEMO_PASSWORDS["agent"],
                                                "csrf_token": token}, follow_redirects=False)
        assert signed_in.status_code == 303
        yield client


def _empty_messages(client: TestClient) -> dict[str, list[str]]:
    """Each terminal-page card's "nothing yet" keys, read from its template (the page's sections, in order)."""
    package = Path(posops.__file__).parent
    templates = ["terminals/lifecycle_section.html",
                 *(s.template for s in client.app.state.terminal_sections)]
    found = {name: EMPTY_MESSAGE.findall((package / name.split("/")[0] / "templates" / name).read_text("utf-8"))
             for name in dict.fromkeys(templates)}
    assert {"diagnosis.none", "iso8583.section.none", "tickets.section.no_records",
            "telemetry.never_hint"} <= {key for keys in found.values() for key in keys}
    return found


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_showcase_pages_have_something_in_every_card(demo: Demo, console: TestClient, lang: str) -> None:
    console.get(f"/lang/{lang}")
    empty = _empty_messages(console)
    healthy, suspended = _showcase(demo, _user(demo.db, "agent"))
    for terminal_id in (healthy, suspended):
        page = console.get(f"/terminals/{terminal_id}")
        assert page.status_code == 200
        shown = [key for keys in empty.values() for key in keys if translate(key, lang) in page.text]
        assert shown == [], f"terminal {terminal_id} shows an empty card"
        for card in ("timeline", "telemetry", "telemetry-charts", "traffic-failures", "traffic-evidence",
                     "diagnosis-history", "maintenance-records"):
            assert f'data-testid="{card}"' in page.text, f"terminal {terminal_id} lacks its {card} card"
    page = console.get(f"/terminals/{suspended}").text
    for card in ("screen-notice", "notices", "open-request"):
        assert f'data-testid="{card}"' in page


def _stored(db: Database) -> tuple[list[tuple[object, ...]], ...]:
    with db.transaction() as session:
        return (session.execute(select(HeartbeatRecord.sn, HeartbeatRecord.seq, HeartbeatRecord.received_at,
                                       HeartbeatRecord.battery_pct, HeartbeatRecord.payload)
                                .order_by(HeartbeatRecord.sn, HeartbeatRecord.seq)).all(),
                session.execute(select(TelemetrySnapshot.sn, TelemetrySnapshot.seq, TelemetrySnapshot.last_seen_at,
                                       TelemetrySnapshot.payload).order_by(TelemetrySnapshot.sn)).all(),
                session.execute(select(DeadLetter.digest, DeadLetter.received_at, DeadLetter.reason)
                                .order_by(DeadLetter.digest)).all())


def test_the_history_stored_in_one_go_is_what_storing_each_arrival_writes(sqlite_template: Path,
                                                                          tmp_path: Path) -> None:
    start = utcnow() - timedelta(hours=1)

    def heartbeat(sn: str, minutes: int) -> Message:
        at = (start + timedelta(minutes=minutes)).isoformat()
        return Message.parse("http", json.dumps({"v": 1, "sn": sn, "seq": 1000 + minutes, "ts": at, "battery": {
            "pct": 90 - minutes, "charging": False, "power_source": "battery"}}).encode())

    arrivals = [(start + timedelta(minutes=m + 1), [heartbeat("SN-A", m), heartbeat("SN-B", m)]) for m in (0, 10, 20)]
    arrivals.append((start + timedelta(minutes=31), [heartbeat("SN-A", 30), heartbeat("SN-A", 20),  # redelivered
                                                    heartbeat("SN-UNKNOWN", 30), Message.parse("http", b"{")]))
    results = []
    for name in ("one_by_one", "in_one_go"):
        shutil.copy(sqlite_template, tmp_path / f"{name}.db")
        db = Database(f"sqlite:///{tmp_path / name}.db")
        with db.transaction() as session:
            merchant = Merchant(name="甲商户", legal_id="91310000AAAA00001X", region="上海")
            session.add(merchant)
            session.flush()
            session.add_all([Terminal(serial_number=sn, tid=tid, model="PAX A920", vendor="PAX", mid="898310000000001",
                                      merchant_id=merchant.id, status=TerminalStatus.ACTIVE)
                             for sn, tid in (("SN-A", "90000001"), ("SN-B", "90000002"))])
        with db.transaction() as session:
            if name == "one_by_one":
                for at, messages in arrivals:
                    store_messages(session, messages, at)
            else:
                outcome = store_received(session, arrivals)
                assert (outcome.received, outcome.stored, outcome.duplicates, len(outcome.rejected)) == (10, 7, 1, 2)
        results.append(_stored(db))
    one_by_one, in_one_go = results
    assert in_one_go == one_by_one
    history, snapshots, dead = in_one_go
    assert len(history) == 7 and len(dead) == 2
    assert [(sn, seq) for sn, seq, *_ in snapshots] == [("SN-A", 1030), ("SN-B", 1020)]
    assert snapshots[0][2] == arrivals[-1][0] and snapshots[1][2] == arrivals[2][0], "last seen when it arrived"
