import random
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from posops.telemetry.analytics import Dimension, GroupKey, StatusSample, group_stats, is_failing, scan
from posops.telemetry.heartbeat import Heartbeat, parse_heartbeat
from posops.telemetry.simulator import (
    CARRIERS,
    MODELS,
    REGIONS,
    SIGN_IN_FAILED,
    Faults,
    Installer,
    Offer,
    TerminalProfile,
    broken_install_on,
    generate_fleet,
    initial_state,
    install_steps,
    load_fleet,
    next_heartbeat,
    profile_for_serial,
    read_offer,
    run_simulation,
    upgraded,
    write_fleet_csv,
)
from posops.upgrades.schemas import NextOut, PackageKind, ReportsIn
from posops.upgrades.steps import FailureCode, Step
from tests.telemetry.heartbeats import NOW

STEP = timedelta(minutes=1)


def test_a_generated_fleet_is_the_same_for_the_same_seed():
    fleet = generate_fleet(50, seed=7)
    assert fleet == generate_fleet(50, seed=7)
    assert fleet != generate_fleet(50, seed=8)
    assert [p.sn for p in fleet[:2]] == ["SIM00000001", "SIM00000002"]
    for p in fleet:
        spec = MODELS[p.model]
        assert p.region in REGIONS and p.carrier in CARRIERS
        assert p.network in spec.networks and p.app_version in spec.apps and p.firmware in spec.firmwares
    assert len({p.region for p in fleet}) > 3 and len({p.model for p in fleet}) > 3


def test_a_serial_number_always_gets_the_same_profile():
    assert profile_for_serial("PAA920000123") == profile_for_serial("PAA920000123")


def test_fleets_load_from_a_list_of_serials(tmp_path: Path):
    path = tmp_path / "serials.txt"
    path.write_text("# exported 2025-03-01\nPAA920000001\n\nPAA920000002\n", encoding="utf-8")
    assert load_fleet(path) == [profile_for_serial("PAA920000001"), profile_for_serial("PAA920000002")]


def test_fleets_load_from_a_terminals_table_export(tmp_path: Path):
    path = tmp_path / "terminals.csv"
    path.write_text("serial_number,model,region,carrier,network_type,app_version,firmware_version,tid\n"
                    "PAA920000001,PAX A920,上海,中国移动,4g,3.2.1,PayDroid 8.1.0,10000001\n"
                    "VEX990000002,Verifone X990,北京,中国联通,ethernet,2.0.0,VOS3 3.14.2,10000002\n",
                    encoding="utf-8")
    first, second = load_fleet(path)
    assert first == TerminalProfile("PAA920000001", "PAX A920", "上海", "中国移动", "4g", "3.2.1", "PayDroid 8.1.0")
    assert second.model == "Verifone X990" and second.network == "ethernet"


def test_missing_columns_are_filled_from_the_serial(tmp_path: Path):
    path = tmp_path / "terminals.csv"
    path.write_text("sn,region\nX1,成都\n", encoding="utf-8")
    [profile] = load_fleet(path)
    assert profile.region == "成都" and profile.model == profile_for_serial("X1").model


def test_a_written_fleet_reads_back_the_same(tmp_path: Path):
    fleet = generate_fleet(20, seed=3)
    write_fleet_csv(fleet, tmp_path / "fleet.csv")
    assert load_fleet(tmp_path / "fleet.csv") == fleet


def run_terminal(profile: TerminalProfile, steps: int, faults: Faults = Faults(), seed: int = 1) -> list[Heartbeat]:
    rng = random.Random(seed)
    state = initial_state(profile, start=NOW, rng=rng)
    beats = []
    for step in range(steps):
        hb, state = next_heartbeat(profile, state, now=NOW + step * STEP, faults=faults, rng=rng)
        beats.append(hb)
    return beats


def handheld(**changes: str) -> TerminalProfile:
    return TerminalProfile(**{"sn": "PAA920000001", "model": "PAX A920", "region": "上海", "carrier": "中国移动",
                              "network": "4g", "app_version": "3.2.1", "firmware": "PayDroid 8.1.0", **changes})


def test_heartbeats_are_valid_and_survive_the_wire():
    for hb in run_terminal(handheld(), 50):
        assert parse_heartbeat(hb.to_json(), expected_sn="PAA920000001") == hb
        assert hb.ts.utcoffset() == timedelta(hours=8)
        assert hb.last_signin is not None and hb.last_signin.at is not None and hb.last_signin.at <= hb.ts


def test_sequence_and_reader_counters_only_go_up():
    beats = run_terminal(handheld(), 100)
    seqs = [hb.seq for hb in beats]
    assert seqs == list(range(seqs[0], seqs[0] + 100))
    reads = [hb.reader.reads for hb in beats if hb.reader]
    assert reads == sorted(reads) and reads[-1] > reads[0]


def test_a_restarted_simulator_continues_above_the_previous_sequence():
    profile = handheld()
    earlier = initial_state(profile, start=NOW, rng=random.Random(1))
    later = initial_state(profile, start=NOW + timedelta(seconds=1), rng=random.Random(1))
    assert later.seq >= earlier.seq + 1000


def test_batteries_drain_on_battery_and_charge_on_the_adapter():
    beats = run_terminal(handheld(), 600)
    moves: Counter[tuple[str, str]] = Counter()
    for before, after in pairwise(beats):
        assert before.battery and after.battery
        delta = after.battery.pct - before.battery.pct
        moves[(after.battery.power_source, "up" if delta > 0 else "down" if delta < 0 else "flat")] += 1
        assert 0 <= after.battery.pct <= 100
    assert moves[("battery", "down")] > 0 and moves[("adapter", "up")] > 0
    assert moves[("battery", "up")] == 0


def test_countertop_terminals_have_no_battery_and_no_radio_on_ethernet():
    hb = run_terminal(handheld(model="Verifone X990", network="ethernet", app_version="2.0.0",
                               firmware="VOS3 3.14.2"), 1)[0]
    assert hb.battery is None and hb.network is not None
    assert hb.network.type == "ethernet" and hb.network.signal_dbm is None


def test_a_carrier_outage_hits_only_its_region_and_carrier():
    faults = Faults(outage_region="上海", outage_carrier="中国移动")
    hit = run_terminal(handheld(), 20, faults)
    assert all(hb.network and not hb.network.host_reachable and hb.last_rc == "timeout" for hb in hit)
    for spared in (handheld(region="北京"), handheld(carrier="中国联通")):
        assert sum(is_failing(hb) for hb in run_terminal(spared, 20, faults)) <= 2


def test_a_bad_release_reaches_its_share_of_the_model_and_breaks_sign_in():
    fleet = generate_fleet(600, seed=5)
    faults = Faults(bad_app="PAX A920@3.2.2", bad_app_share=0.3)
    upgraded = [p for p in fleet if faults.bad_release(p)]
    pax = [p for p in fleet if p.model == "PAX A920"]
    assert {p.model for p in upgraded} == {"PAX A920"}
    assert 0.2 < len(upgraded) / len(pax) < 0.4
    for hb in run_terminal(upgraded[0], 10, faults):
        assert hb.software and hb.software.app == "3.2.2"
        assert hb.last_signin and hb.last_signin.ok is False and is_failing(hb)
    every_model = Faults(bad_app="9.9.9")
    assert len({p.model for p in fleet if every_model.bad_release(p)}) == len(MODELS)


def fleet_samples(faults: Faults, terminals: int = 540) -> list[StatusSample]:
    fleet = generate_fleet(terminals, seed=11)
    samples = []
    for index, profile in enumerate(fleet):
        hb = run_terminal(profile, 3, faults, seed=index)[-1]
        app = hb.software.app if hb.software else profile.app_version
        samples.append(StatusSample(sn=profile.sn, region=profile.region, carrier=profile.carrier,
                                    model=profile.model, app_version=app, failing=is_failing(hb), at=NOW))
    return samples


def incidents(samples: list[StatusSample], dimension: Dimension) -> list[GroupKey]:
    stats = group_stats(samples, dimension, now=NOW + STEP, window=timedelta(minutes=10))
    return [i.key for i in scan(stats, incidents={}, baselines={}, now=NOW + STEP).opened]


def test_simulated_faults_are_found_by_the_fleet_analytics():
    healthy = fleet_samples(Faults())
    assert incidents(healthy, Dimension.AREA) == [] and incidents(healthy, Dimension.COHORT) == []
    outage = fleet_samples(Faults(outage_region="广州", outage_carrier="中国电信"))
    assert incidents(outage, Dimension.AREA) == [GroupKey(Dimension.AREA, "广州", "中国电信")]
    bad = fleet_samples(Faults(bad_app="Sunmi P2@4.6.0", bad_app_share=0.4))
    assert incidents(bad, Dimension.COHORT) == [GroupKey(Dimension.COHORT, "Sunmi P2", "4.6.0")]
    assert incidents(bad, Dimension.AREA) == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def test_the_simulation_goes_round_the_fleet_at_the_given_rate():
    clock = FakeClock()
    sent: list[Heartbeat] = []
    fleet = generate_fleet(3)
    count = run_simulation(fleet, sent.append, rate=5.0, count=10, clock=clock, sleep=clock.sleep)
    assert count == 10 and len(sent) == 10
    assert [hb.sn for hb in sent[:4]] == [p.sn for p in fleet] + [fleet[0].sn]
    assert clock.slept == pytest.approx(9 / 5)
    first_terminal = [hb.seq for hb in sent if hb.sn == fleet[0].sn]
    assert first_terminal == sorted(first_terminal) and len(set(first_terminal)) == 4


def test_the_simulation_stops_after_its_duration():
    clock = FakeClock()
    sent: list[Heartbeat] = []
    run_simulation(generate_fleet(5), sent.append, rate=10.0, duration=2.0, clock=clock, sleep=clock.sleep)
    assert len(sent) == 20


# upgrades --------------------------------------------------------------------------------------------


def on_version(version: str, count: int = 400, model: str = "Newland N910") -> list[TerminalProfile]:
    return [replace(p, model=model, app_version=version) for p in generate_fleet(count, seed=3)]


def test_a_bad_version_breaks_sign_in_on_a_stable_share_of_the_terminals_running_it():
    faults = Faults(bad_version="5.2.1")
    fleet = on_version("5.2.1")
    failing = [p for p in fleet if faults.fails_sign_in(p)]
    assert 0.10 < len(failing) / len(fleet) < 0.20
    assert failing == [p for p in fleet if Faults(bad_version="5.2.1").fails_sign_in(p)], "picked by serial"
    assert not [p for p in on_version("5.2.0") if faults.fails_sign_in(p)], "other versions are spared"
    for hb in run_terminal(failing[0], 30, faults):
        assert hb.last_signin and hb.last_signin.ok is False and hb.screen_notice == SIGN_IN_FAILED
        assert hb.software and hb.software.app == "5.2.1"
    restarts = [hb.software.restarts for hb in run_terminal(failing[0], 30, faults) if hb.software]
    assert restarts == sorted(restarts) and restarts[-1] > restarts[0], "it crashes and starts again"
    healthy = next(p for p in fleet if not faults.fails_sign_in(p))
    calm = run_terminal(healthy, 30, faults)
    assert all(hb.last_signin and hb.last_signin.ok for hb in calm)
    assert len({hb.software.restarts for hb in calm if hb.software}) == 1


def test_a_broken_install_fails_on_one_model_only():
    faults = Faults(broken_install=broken_install_on("5.2.0", generate_fleet(50, seed=2)))
    model = faults.broken_install.split("@")[0] if faults.broken_install else ""
    assert model == next(m for m in MODELS if m in {p.model for p in generate_fleet(50, seed=2)})
    offer = Offer(campaign_id=4, version="5.2.0")
    hit = replace(profile_for_serial("X1"), model=model)
    spared = replace(hit, model=next(m for m in MODELS if m != model))
    assert install_steps(hit, offer, faults)[-1] == (Step.FAILED, FailureCode.INSTALL_FAILED)
    assert [s for s, _ in install_steps(spared, offer, faults)] == [Step.DOWNLOADING, Step.DOWNLOADED,
                                                                     Step.INSTALLING, Step.INSTALLED]
    assert install_steps(hit, Offer(campaign_id=4, version="5.2.1"), faults)[-1][0] is Step.INSTALLED
    assert broken_install_on("Sunmi P2@4.6.0", []) == "Sunmi P2@4.6.0"


def test_an_offer_is_read_from_what_posops_pushes():
    pushed = NextOut(install=True, campaign_id=9, kind=PackageKind.APP, version="5.2.0", sha256="ab" * 32,
                     size_bytes=2048, download_path="/api/v1/upgrades/packages/3/file", force=True)
    offer = read_offer(pushed.model_dump_json().encode())
    assert offer == Offer(campaign_id=9, version="5.2.0", kind="app", sha256="ab" * 32, size_bytes=2048,
                          download_path="/api/v1/upgrades/packages/3/file", force=True)
    assert read_offer(NextOut(install=False, reason="outside_window").model_dump_json().encode()) is None
    assert read_offer(b"not json") is None and read_offer(b"[1, 2]") is None
    assert read_offer(b'{"install": true, "campaign_id": "9", "version": "5.2.0"}') is None


def test_an_install_is_reported_one_step_at_a_time_as_the_upgrades_api_reads_it():
    installer = Installer(step_seconds=2.0)
    profile = replace(profile_for_serial("NE910000001"), model="Newland N910", app_version="5.1.2")
    offer = Offer(campaign_id=7, version="5.2.0")
    installer.offer(profile, offer, at=0.0)
    installer.offer(profile, Offer(campaign_id=8, version="5.3.0"), at=0.5)  # busy: ignored
    steps = []
    for tick in range(10):
        steps.extend(installer.due(at=tick * 1.0, now=NOW + tick * STEP))
    assert [body["step"] for _, body, _ in steps] == ["downloading", "downloaded", "installing", "installed"]
    reports = ReportsIn.model_validate({"reports": [body for _, body, _ in steps]})
    assert len({r.report_id for r in reports.reports}) == 4 and {r.campaign_id for r in reports.reports} == {7}
    assert [installed for _, _, installed in steps] == [None, None, None, offer]
    assert upgraded(profile, offer).app_version == "5.2.0" and installer.installed == 1
    assert not installer.busy()


def test_a_failed_install_offered_again_is_a_new_attempt():
    faults = Faults(broken_install="Newland N910@5.2.0")
    installer = Installer(faults, step_seconds=0.0)
    profile = replace(profile_for_serial("NE910000002"), model="Newland N910")
    offer = Offer(campaign_id=7, version="5.2.0")
    ids = []
    for attempt in range(2):
        installer.offer(profile, offer, at=float(attempt))
        while installer.busy():
            ids.extend(body["report_id"] for _, body, _ in installer.due(at=float(attempt), now=NOW))
    assert len(ids) == len(set(ids)) == 8 and ids[-1].endswith("-failed-2")
    assert installer.failed == 2 and installer.installed == 0


def test_simulated_terminals_install_what_is_pushed_and_then_run_it():
    clock = FakeClock()
    fleet = [replace(p, model="Newland N910", app_version="5.1.2") for p in generate_fleet(3)]
    pushed = [(fleet[1].sn, NextOut(install=True, campaign_id=5, kind=PackageKind.APP,
                                    version="5.2.0").model_dump_json().encode()),
              ("SOMEONE-ELSE", b'{"install": true, "campaign_id": 5, "version": "5.2.0"}')]
    sent: list[Heartbeat] = []
    reported: list[tuple[str, dict[str, object]]] = []

    def offers() -> list[tuple[str, bytes]]:
        taken = list(pushed)
        pushed.clear()
        return taken

    run_simulation(fleet, sent.append, rate=1.0, count=30, clock=clock, sleep=clock.sleep, offers=offers,
                   report=lambda sn, body: reported.append((sn, body)), installer=Installer(step_seconds=1.0))
    assert [sn for sn, _ in reported] == [fleet[1].sn] * 4 and reported[-1][1]["step"] == "installed"
    versions = [hb.software.app for hb in sent if hb.sn == fleet[1].sn and hb.software]
    assert versions[0] == "5.1.2" and versions[-1] == "5.2.0"
    assert {hb.software.app for hb in sent if hb.sn != fleet[1].sn and hb.software} == {"5.1.2"}
