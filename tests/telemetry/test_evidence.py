from dataclasses import replace
from datetime import timedelta
from importlib import resources

import pytest
import yaml

from posops.telemetry.evidence import (
    CHECK_OUTCOMES,
    EvidencePolicy,
    FleetFacts,
    SignalThresholds,
    derive_evidence,
)
from tests.telemetry.heartbeats import NOW, heartbeat, section

FACTS = FleetFacts(now=NOW + timedelta(minutes=1), latest_app="3.2.1",
                   compatible_apps=frozenset({"3.1.4", "3.2.0", "3.2.1"}), min_firmware="PayDroid 7.1.2",
                   area_incident=False, cohort_incident=False)
VOLATILE = {"battery_level", "net_indicator", "printer_paper", "screen_notice", "response_code"}


def evidence(facts: FleetFacts = FACTS, policy: EvidencePolicy | None = None, **changes: object) -> dict[str, str]:
    hb = heartbeat(**changes)
    return derive_evidence(hb, facts, policy) if policy else derive_evidence(hb, facts)


def test_a_healthy_fresh_heartbeat_answers_every_telemetry_check_with_its_normal_outcome():
    found = evidence()
    assert found == {check: outcomes[0] for check, outcomes in CHECK_OUTCOMES.items()}


def test_the_outcomes_are_those_of_the_taxonomy():
    taxonomy = yaml.safe_load(resources.files("posops.kb").joinpath("taxonomy.yaml").read_text(encoding="utf-8"))
    telemetry_checks = {c["id"]: tuple(str(o) for o in c["outcomes"]) for c in taxonomy["checks"] if c.get("telemetry")}
    assert dict(CHECK_OUTCOMES) == telemetry_checks


@pytest.mark.parametrize(("battery", "outcome"), [
    ({"pct": 80, "charging": False, "power_source": "battery"}, "ok"),
    ({"pct": 21, "charging": False, "power_source": "battery"}, "ok"),
    ({"pct": 20, "charging": False, "power_source": "battery"}, "low"),
    ({"pct": 3, "charging": True, "power_source": "adapter"}, "low"),
    ({"pct": 60, "charging": False, "power_source": "adapter"}, "not_charging"),
    ({"pct": 10, "charging": False, "power_source": "adapter"}, "not_charging"),
    ({"pct": 94, "charging": False, "power_source": "adapter"}, "not_charging"),
    ({"pct": 95, "charging": False, "power_source": "adapter"}, "ok"),
    ({"pct": 100, "charging": False, "power_source": "adapter"}, "ok"),
    ({"pct": 60, "charging": True, "power_source": "adapter"}, "ok"),
])
def test_battery_level(battery: dict[str, object], outcome: str):
    assert evidence(battery=battery)["battery_level"] == outcome


def test_battery_thresholds_come_from_the_policy():
    policy = EvidencePolicy(battery_low_pct=30)
    assert evidence(policy=policy, battery=section("battery", pct=25))["battery_level"] == "low"


@pytest.mark.parametrize(("network", "outcome"), [
    (section("network", type="4g", signal_dbm=-104), "ok"),
    (section("network", type="4g", signal_dbm=-105), "ok"),
    (section("network", type="4g", signal_dbm=-106), "weak"),
    (section("network", type="4g", signal_dbm=-119), "weak"),
    (section("network", type="4g", signal_dbm=-120), "none"),
    (section("network", type="wifi", signal_dbm=-60), "ok"),
    (section("network", type="wifi", signal_dbm=-80), "weak"),
    (section("network", type="wifi", signal_dbm=-90), "none"),
    # The same -80 dBm is fine on 4G but weak on Wi-Fi.
    (section("network", type="4g", signal_dbm=-80), "ok"),
    # No data session and no host: a SIM without credit shows no network at all.
    (section("network", type="4g", signal_dbm=-85, ip=None, host_reachable=False), "none"),
    # A good signal with an IP but no host is a configuration or host problem, not the link.
    (section("network", type="4g", signal_dbm=-85, host_reachable=False), "ok"),
    # A modem that reports no signal but reaches the host is online.
    (section("network", type="4g", signal_dbm=None, host_reachable=True), "ok"),
    (section("network", type="ethernet", signal_dbm=None, ip="192.168.1.20"), "ok"),
    (section("network", type="ethernet", signal_dbm=None, ip=None, host_reachable=False), "none"),
])
def test_net_indicator_thresholds_per_network_type(network: dict[str, object], outcome: str):
    assert evidence(network=network)["net_indicator"] == outcome


def test_signal_thresholds_come_from_the_policy():
    policy = EvidencePolicy(signal={"4g": SignalThresholds(weak_below=-80, none_at_or_below=-100)})
    assert evidence(policy=policy, network=section("network", signal_dbm=-90))["net_indicator"] == "weak"


def test_a_radio_reporting_no_signal_and_no_reachability_but_an_ip_gives_no_net_evidence():
    found = evidence(network=section("network", signal_dbm=None, host_reachable=False))
    assert "net_indicator" not in found


@pytest.mark.parametrize(("software", "facts", "outcome"), [
    ({"app": "3.2.1", "firmware": "PayDroid 8.1.0"}, FACTS, "current"),
    ({"app": "3.2.0", "firmware": "PayDroid 8.1.0"}, FACTS, "outdated"),
    ({"app": "3.2.1", "firmware": "PayDroid 7.0.9"}, FACTS, "incompatible"),
    ({"app": "3.3.0", "firmware": "PayDroid 8.1.0"}, FACTS, "incompatible"),
    ({"app": "3.3.0", "firmware": "PayDroid 8.1.0"}, replace(FACTS, compatible_apps=None), "current"),
    ({"app": "3.2.0", "firmware": "PayDroid 8.1.0"}, replace(FACTS, compatible_apps=None, min_firmware=None),
     "outdated"),
])
def test_sw_version(software: dict[str, str], facts: FleetFacts, outcome: str):
    assert evidence(facts, software=software)["sw_version"] == outcome


def test_versions_compare_by_number_not_by_text():
    facts = replace(FACTS, latest_app="3.2.10", compatible_apps=None)
    found = evidence(facts, software=section("software", app="3.2.9"))
    assert found["sw_version"] == "outdated"


def test_an_unreadable_version_gives_no_sw_version():
    facts = replace(FACTS, compatible_apps=None, min_firmware=None)
    assert "sw_version" not in evidence(facts, software=section("software", app="nightly-build"))


def test_no_release_facts_no_sw_version():
    assert "sw_version" not in evidence(replace(FACTS, latest_app=None, compatible_apps=None, min_firmware=None))


def test_tamper_flag():
    assert evidence(tamper=True)["tamper_flag"] == "triggered"
    assert evidence(tamper=False)["tamper_flag"] == "clear"


@pytest.mark.parametrize(("paper", "outcome"), [("ok", "ok"), ("low", "ok"), ("out", "empty_or_reversed")])
def test_printer_paper(paper: str, outcome: str):
    assert evidence(printer={"paper": paper, "head_temp_ok": True})["printer_paper"] == outcome


@pytest.mark.parametrize(("text", "outcome"), [
    (None, "none"), ("终端已停机", "suspended"), ("签到失败", "signin_failed"), ("Out of paper", "no_paper"),
])
def test_screen_notice(text: str | None, outcome: str):
    assert evidence(screen_notice=text)["screen_notice"] == outcome


def test_an_unreadable_screen_text_gives_no_screen_evidence():
    assert "screen_notice" not in evidence(screen_notice="E-0x3F 请联系客服")


@pytest.mark.parametrize("code", ["none", "NONE", " "])
def test_no_failure_code_reads_as_none(code: str):
    assert evidence(last_rc=code)["response_code"] == "none"


@pytest.mark.parametrize(("code", "outcome"), [
    ("00", "none"), ("51", "51"), ("a0", "A0"), ("A0", "A0"), (" 96 ", "96"), ("timeout", "timeout"),
    ("TIMEOUT", "timeout"), ("03", "03"), ("97", "97"),
])
def test_response_code_in_the_taxonomy(code: str, outcome: str):
    assert evidence(last_rc=code)["response_code"] == outcome


@pytest.mark.parametrize("code", ["12", "30", "68", "94", "ZZ"])
def test_response_codes_outside_the_taxonomy_give_no_evidence(code: str):
    assert "response_code" not in evidence(last_rc=code)


def test_no_last_code_gives_no_response_code_evidence():
    assert "response_code" not in evidence(last_rc=None)


def test_fleet_incidents():
    assert evidence(replace(FACTS, area_incident=True))["area_outage"] == "yes"
    assert evidence(replace(FACTS, cohort_incident=True))["version_cohort"] == "yes"
    unknown = evidence(replace(FACTS, area_incident=None, cohort_incident=None))
    assert "area_outage" not in unknown and "version_cohort" not in unknown


def test_fleet_incidents_count_without_any_heartbeat():
    assert derive_evidence(None, replace(FACTS, area_incident=True)) == {"area_outage": "yes", "version_cohort": "no"}


def test_missing_sections_give_no_evidence():
    hb = heartbeat()
    bare = hb.model_validate({"v": 1, "sn": hb.sn, "seq": 1, "ts": NOW})
    assert derive_evidence(bare, FACTS) == {"area_outage": "no", "version_cohort": "no"}


def test_a_stale_heartbeat_says_nothing_about_volatile_state():
    hb = heartbeat(tamper=False)
    policy = EvidencePolicy(stale_after=timedelta(minutes=15))
    fresh = derive_evidence(hb, replace(FACTS, now=NOW + timedelta(minutes=15)), policy)
    stale = derive_evidence(hb, replace(FACTS, now=NOW + timedelta(minutes=16)), policy)
    assert fresh.keys() >= VOLATILE
    assert not VOLATILE & stale.keys()
    # What does not change by the minute still counts.
    assert stale["sw_version"] == "current" and stale["area_outage"] == "no"
    assert "tamper_flag" not in stale  # an old "clear" may no longer be true


def test_a_triggered_tamper_switch_stays_evidence_when_the_report_is_old():
    found = derive_evidence(heartbeat(tamper=True), replace(FACTS, now=NOW + timedelta(hours=6)))
    assert found["tamper_flag"] == "triggered"


def test_the_age_limit_comes_from_the_policy():
    hb = heartbeat()
    later = replace(FACTS, now=NOW + timedelta(hours=1))
    assert "battery_level" not in derive_evidence(hb, later)
    assert "battery_level" in derive_evidence(hb, later, EvidencePolicy(stale_after=timedelta(hours=2)))
