from datetime import timedelta

import pytest

from posops.telemetry.analytics import (
    Baseline,
    Dimension,
    GroupKey,
    GroupStat,
    Incident,
    IncidentPolicy,
    StatusSample,
    candidate_groups,
    failure_reasons,
    group_stats,
    is_failing,
    scan,
    updated_baseline,
)
from tests.telemetry.heartbeats import NOW, heartbeat, section

POLICY = IncidentPolicy(window=timedelta(minutes=10), min_terminals=10, min_failing=5, open_share=0.30,
                        open_ratio=3.0, close_share=0.15, close_ratio=1.5, calm_for=timedelta(minutes=10))
SHANGHAI_MOBILE = GroupKey(Dimension.AREA, "上海", "中国移动")


# -- what failing means ----------------------------------------------------------------------

def test_a_healthy_terminal_is_not_failing():
    assert failure_reasons(heartbeat()) == ()
    assert not is_failing(heartbeat())


@pytest.mark.parametrize(("changes", "reason"), [
    ({"network": section("network", host_reachable=False)}, "host_unreachable"),
    ({"last_signin": {"at": NOW.isoformat(), "ok": False}}, "signin_failed"),
    ({"last_rc": "timeout"}, "rc:timeout"),
    ({"last_rc": "96"}, "rc:96"),
    ({"last_rc": "a0"}, "rc:A0"),
    ({"last_rc": "97"}, "rc:97"),
    ({"screen_notice": "升级失败"}, "screen:upgrade_failed"),
    ({"screen_notice": "签到失败"}, "screen:signin_failed"),
])
def test_terminal_and_host_failures_count(changes: dict[str, object], reason: str):
    assert reason in failure_reasons(heartbeat(**changes))


@pytest.mark.parametrize("changes", [
    {"last_rc": "51"}, {"last_rc": "55"}, {"last_rc": "54"}, {"last_rc": "00"},
    {"screen_notice": "终端已停机"}, {"screen_notice": "打印机缺纸"}, {"tamper": True},
    {"battery": section("battery", pct=3)},
])
def test_cardholder_declines_and_single_merchant_states_do_not_count(changes: dict[str, object]):
    assert not is_failing(heartbeat(**changes))


def test_an_outage_heartbeat_gives_every_reason_it_has():
    hb = heartbeat(network=section("network", host_reachable=False), last_rc="timeout",
                   last_signin={"at": NOW.isoformat(), "ok": False})
    assert failure_reasons(hb) == ("host_unreachable", "signin_failed", "rc:timeout")


# -- counting ------------------------------------------------------------------------------------

def sample(sn: str, *, region: str = "上海", carrier: str = "中国移动", model: str = "PAX A920",
           app: str = "3.2.1", failing: bool = False, minutes_ago: float = 1) -> StatusSample:
    return StatusSample(sn=sn, region=region, carrier=carrier, model=model, app_version=app, failing=failing,
                        at=NOW - timedelta(minutes=minutes_ago))


def area(region: str, carrier: str) -> GroupKey:
    return GroupKey(Dimension.AREA, region, carrier)


def test_each_terminal_counts_once_by_its_latest_sample_in_the_window():
    samples = [
        sample("A", failing=True, minutes_ago=8), sample("A", failing=False, minutes_ago=2),
        sample("B", failing=False, minutes_ago=9), sample("B", failing=True, minutes_ago=1),
        sample("C", failing=True, minutes_ago=30),  # too old
        sample("D", failing=True, minutes_ago=-1),  # from the future
    ]
    stats = group_stats(samples, Dimension.AREA, now=NOW, window=timedelta(minutes=10))
    assert stats == {SHANGHAI_MOBILE: GroupStat(terminals=2, failing=1, failing_terminals=frozenset({"B"}))}
    assert stats[SHANGHAI_MOBILE].share == 0.5


def test_the_same_samples_group_by_area_or_by_cohort():
    samples = [sample("A", region="北京", app="3.2.0", failing=True), sample("B", region="上海", app="3.2.0"),
               sample("C", region="上海", model="Landi A8", app="2.8.1")]
    by_cohort = group_stats(samples, Dimension.COHORT, now=NOW, window=timedelta(minutes=10))
    assert by_cohort.keys() == {GroupKey(Dimension.COHORT, "PAX A920", "3.2.0"),
                                GroupKey(Dimension.COHORT, "Landi A8", "2.8.1")}
    assert by_cohort[GroupKey(Dimension.COHORT, "PAX A920", "3.2.0")].failing == 1


# -- incidents -----------------------------------------------------------------------------------

def fleet_with_outage(failing_in_outage: int, *, outage_size: int = 40) -> list[StatusSample]:
    """Six cities x three carriers, 40 terminals each; Shanghai on China Mobile has an outage."""
    samples = []
    for region in ("上海", "北京", "广州", "深圳", "杭州", "成都"):
        for carrier in ("中国移动", "中国联通", "中国电信"):
            size = outage_size if (region, carrier) == ("上海", "中国移动") else 40
            for index in range(size):
                outage = (region, carrier) == ("上海", "中国移动") and index < failing_in_outage
                noise = index == 0 and region == "北京"  # the usual odd failure elsewhere
                samples.append(sample(f"{region}-{carrier}-{index}", region=region, carrier=carrier,
                                      failing=outage or noise))
    return samples


def scan_area(samples: list[StatusSample], incidents: dict[GroupKey, Incident] | None = None,
              baselines: dict[GroupKey, Baseline] | None = None, *, minutes: float = 0):
    now = NOW + timedelta(minutes=minutes)
    shifted = [StatusSample(**{**s.__dict__, "at": s.at + timedelta(minutes=minutes)}) for s in samples]
    stats = group_stats(shifted, Dimension.AREA, now=now, window=POLICY.window)
    return scan(stats, incidents=incidents or {}, baselines=baselines or {}, now=now, policy=POLICY)


def test_a_regional_carrier_outage_opens_one_incident_with_its_terminals():
    result = scan_area(fleet_with_outage(failing_in_outage=24))
    assert list(result.incidents) == [SHANGHAI_MOBILE]
    [incident] = result.opened
    assert incident.key == SHANGHAI_MOBILE and incident.opened_at == NOW
    assert (incident.terminals, incident.failing) == (40, 24)
    assert incident.affected == {f"上海-中国移动-{i}" for i in range(24)}
    assert result.closed == []


def test_an_open_incident_is_kept_not_opened_again():
    first = scan_area(fleet_with_outage(24))
    second = scan_area(fleet_with_outage(30), first.incidents, first.baselines, minutes=1)
    assert second.opened == [] and list(second.incidents) == [SHANGHAI_MOBILE]
    incident = second.incidents[SHANGHAI_MOBILE]
    assert incident.opened_at == NOW and incident.failing == 30 and incident.peak_share == 0.75
    assert len(incident.affected) == 30


def test_below_the_share_threshold_nothing_opens():
    assert scan_area(fleet_with_outage(failing_in_outage=10)).opened == []  # 25 %


def test_tiny_groups_never_open_an_incident():
    samples = [sample("A", failing=True), sample("B", failing=True)]  # 1 of 2, 2 of 2: not an outage
    assert scan_area(samples).opened == []
    nine = [sample(f"T{i}", failing=True) for i in range(9)]
    assert scan_area(nine).opened == []
    ten = [sample(f"T{i}", failing=i < 5) for i in range(10)]
    assert [i.key for i in scan_area(ten).opened] == [SHANGHAI_MOBILE]


def test_too_few_failing_terminals_do_not_open_even_at_a_high_share():
    policy = IncidentPolicy(min_terminals=5, min_failing=5)
    stats = {SHANGHAI_MOBILE: GroupStat(terminals=6, failing=4)}
    assert scan(stats, incidents={}, baselines={}, now=NOW, policy=policy).opened == []


def test_a_group_is_judged_against_its_own_baseline():
    stats = {SHANGHAI_MOBILE: GroupStat(terminals=40, failing=20)}  # 50 %
    chronic = {SHANGHAI_MOBILE: Baseline(share=0.25, at=NOW - timedelta(minutes=1))}
    assert scan(stats, incidents={}, baselines=chronic, now=NOW, policy=POLICY).opened == []  # only 2x usual
    usual = {SHANGHAI_MOBILE: Baseline(share=0.05, at=NOW - timedelta(minutes=1))}
    assert len(scan(stats, incidents={}, baselines=usual, now=NOW, policy=POLICY).opened) == 1


def test_closing_needs_the_rate_to_fall_well_below_the_opening_threshold_and_stay_there():
    state = scan_area(fleet_with_outage(24))  # 60 %: open
    steps = [(1, 10, False), (2, 4, False), (5, 10, False), (6, 4, False), (12, 4, False), (16, 5, True)]
    for minute, failing, closes in steps:
        state = scan_area(fleet_with_outage(failing), state.incidents, state.baselines, minutes=minute)
        assert bool(state.closed) is closes, (minute, failing)
    # 25 % (minute 1, 5) is below opening but above closing: still open, never calm.
    # 10 % from minute 6 is calm; closed once calm for 10 minutes (minute 16), not at minute 12.
    [closed] = state.closed
    assert closed.key == SHANGHAI_MOBILE and closed.closed_at == NOW + timedelta(minutes=16)
    assert closed.calm_since == NOW + timedelta(minutes=6) and closed.peak_share == 0.6
    assert state.incidents == {}


def test_a_calm_spell_that_flares_up_again_starts_over():
    state = scan_area(fleet_with_outage(24))
    state = scan_area(fleet_with_outage(4), state.incidents, state.baselines, minutes=1)
    assert state.incidents[SHANGHAI_MOBILE].calm_since == NOW + timedelta(minutes=1)
    state = scan_area(fleet_with_outage(10), state.incidents, state.baselines, minutes=2)
    assert state.incidents[SHANGHAI_MOBILE].calm_since is None


def test_silence_is_not_recovery():
    state = scan_area(fleet_with_outage(24))
    others = [s for s in fleet_with_outage(0) if s.region != "上海"]
    for minute in (1, 30, 60):
        state = scan_area(others, state.incidents, state.baselines, minutes=minute)
        assert list(state.incidents) == [SHANGHAI_MOBILE] and state.closed == []
    few = [sample(f"x{i}") for i in range(3)]  # too few reporting to judge
    state = scan_area(few, state.incidents, state.baselines, minutes=90)
    assert list(state.incidents) == [SHANGHAI_MOBILE]


def test_an_outage_does_not_become_the_baseline():
    state = scan_area(fleet_with_outage(0))
    assert state.baselines[SHANGHAI_MOBILE].share == 0.0
    state = scan_area(fleet_with_outage(24), state.incidents, state.baselines, minutes=1)
    for minute in range(2, 120, 10):
        state = scan_area(fleet_with_outage(24), state.incidents, state.baselines, minutes=minute)
    assert state.baselines[SHANGHAI_MOBILE].share == 0.0
    assert state.incidents[SHANGHAI_MOBILE].baseline == 0.0
    assert state.baselines[area("北京", "中国移动")].share == pytest.approx(1 / 40)


def test_a_bad_release_opens_a_cohort_incident_and_no_area_incident():
    samples = []
    areas = [(r, c) for r in ("上海", "北京", "广州", "深圳", "杭州", "成都")
             for c in ("中国移动", "中国联通", "中国电信")]
    for region, carrier in areas:  # ten terminals in each area, two of them on the bad release
        for index in range(10):
            model, app = ("PAX A920", "3.3.0") if index < 2 else ("PAX A920", "3.2.1") if index < 6 else (
                "Landi A8", "2.8.1")
            samples.append(sample(f"{region}{carrier}{index}", region=region, carrier=carrier, model=model,
                                  app=app, failing=app == "3.3.0"))
    by_area = group_stats(samples, Dimension.AREA, now=NOW, window=POLICY.window)
    by_cohort = group_stats(samples, Dimension.COHORT, now=NOW, window=POLICY.window)
    assert scan(by_area, incidents={}, baselines={}, now=NOW, policy=POLICY).opened == []
    opened = scan(by_cohort, incidents={}, baselines={}, now=NOW, policy=POLICY).opened
    assert [i.key for i in opened] == [GroupKey(Dimension.COHORT, "PAX A920", "3.3.0")]
    assert (opened[0].failing, opened[0].terminals) == (36, 36)


def test_counts_without_serial_numbers_work_too():
    stats = {SHANGHAI_MOBILE: GroupStat(terminals=50_000, failing=20_000),
             area("北京", "中国移动"): GroupStat(terminals=60_000, failing=600)}
    result = scan(stats, incidents={}, baselines={}, now=NOW, policy=POLICY)
    assert [i.key for i in result.opened] == [SHANGHAI_MOBILE] and result.opened[0].affected == frozenset()


def test_candidate_groups_are_those_open_or_about_to_open():
    quiet, loud, kept = area("北京", "中国移动"), area("上海", "中国移动"), area("广州", "中国电信")
    stats = {quiet: GroupStat(40, 1), loud: GroupStat(40, 20), kept: GroupStat(40, 2)}
    incident = Incident(key=kept, opened_at=NOW, baseline=0.0, terminals=40, failing=20, peak_share=0.5)
    assert candidate_groups(stats, {kept: incident}, {}, POLICY) == {loud, kept}


def test_baselines_move_by_half_per_half_life():
    start = Baseline(share=0.0, at=NOW)
    assert updated_baseline(None, 0.2, NOW, timedelta(hours=12)) == Baseline(0.2, NOW)
    moved = updated_baseline(start, 0.2, NOW + timedelta(hours=12), timedelta(hours=12))
    assert moved.share == pytest.approx(0.1) and moved.at == NOW + timedelta(hours=12)
    assert updated_baseline(start, 0.2, NOW, timedelta(hours=12)).share == 0.0


def test_closing_thresholds_must_lie_below_opening_ones():
    with pytest.raises(ValueError):
        IncidentPolicy(open_share=0.2, close_share=0.3)
    with pytest.raises(ValueError):
        IncidentPolicy(open_ratio=2.0, close_ratio=2.5)
