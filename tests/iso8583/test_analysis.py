from __future__ import annotations

import json
from collections.abc import Iterator

from posops.iso8583.analysis import AnalysisSettings, TrafficAnalyzer, analyze
from posops.iso8583.codec import encode_frame
from posops.iso8583.keys import issue_working_keys
from posops.iso8583.logs import FrameRecord, iter_log
from posops.iso8583.message import Message
from tests.iso8583.helpers import answer, log_lines, purchase, records, reversal, sign_in

TID = "10000001"
TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def _run(steps: list[tuple[float, str, Message | bytes]], **settings: float) -> object:
    return analyze(records(steps), AnalysisSettings(**settings))  # type: ignore[arg-type]


def test_pairs_requests_with_answers_and_counts_by_kind() -> None:
    login, buy1, buy2 = sign_in(TID, "000001"), purchase(TID, "000002"), purchase(TID, "000003")
    report = analyze(records([
        (0, ">", login), (0.2, "<", answer(login, "00")),
        (10, ">", buy1), (10.5, "<", answer(buy1, "00")),
        (20, ">", buy2), (21, "<", answer(buy2, "51")),
    ]))
    t = report.terminal(TID)
    assert t is not None
    assert t.messages == {"sign_in": 1, "purchase": 2}
    assert (t.approved, t.failures, t.timeouts) == (2, {"51": 1}, 0)
    assert t.latency_mean_ms is not None and abs(t.latency_mean_ms - 566.7) < 1 and t.latency_max_ms == 1000
    assert t.last_successful_sign_in is not None
    assert t.evidence == {"response_code": "51"} and t.causes == ("card.funds",)
    assert report.unmatched_answers == 0 and t.merchant_id == "898310048990001"


def test_requests_without_answers_time_out_during_and_at_the_end() -> None:
    buy1, buy2, login = purchase(TID, "000001"), purchase(TID, "000002"), sign_in(TID, "000003")
    report = analyze(records([
        (0, ">", buy1),
        (100, ">", login), (100.1, "<", answer(login, "00")),  # buy1 expired by now (timeout 60)
        (200, ">", buy2),  # never answered: a timeout when the input ends
    ]), AnalysisSettings(timeout=60))
    t = report.terminal(TID)
    assert t is not None
    assert t.timeouts == 2 and t.failures == {"timeout": 2}
    assert t.last_outcome is not None and t.last_outcome.code == "timeout"
    assert t.evidence["response_code"] == "timeout"
    assert "ext.host_outage" in t.causes and "net.sim" in t.causes


def test_reversal_settles_its_original_as_timed_out_and_does_not_hide_it() -> None:
    buy = purchase(TID, "000005")
    back = reversal(buy)
    report = analyze(records([(0, ">", buy), (30, ">", back), (30.2, "<", answer(back, "00"))]),
                     AnalysisSettings(timeout=60))
    t = report.terminal(TID)
    assert t is not None
    assert t.reversals == 1 and t.timeouts == 1
    assert t.messages == {"purchase": 1, "reversal": 1}
    assert t.evidence == {"response_code": "timeout"}  # a reversal's 00 is not the transaction's outcome


def _pin_failures(gap: float, count: int = 6) -> list[tuple[float, str, Message | bytes]]:
    steps: list[tuple[float, str, Message | bytes]] = []
    for i in range(count):
        buy = purchase(TID, f"{i + 10:06d}", pan=f"62250000000000{i:02d}")
        steps += [(i * gap, ">", buy), (i * gap + 0.3, "<", answer(buy, "55"))]
    return steps


def test_a_storm_of_wrong_pins_points_at_the_pin_key() -> None:
    report = analyze(records(_pin_failures(gap=20)), AnalysisSettings(storm_threshold=5, storm_window=300))
    t = report.terminal(TID)
    assert t is not None and t.storm_total == 1
    storm = t.storms[0]
    assert (storm.code, storm.count) == ("55", 6)
    assert t.evidence == {"response_code": "55", "key_check": "work_key_invalid"}
    assert t.causes[0] == "sw.keys" and "card.pin" in t.causes


def test_wrong_pins_spread_over_hours_are_cardholders() -> None:
    report = analyze(records(_pin_failures(gap=3600)), AnalysisSettings(storm_threshold=5, storm_window=300))
    t = report.terminal(TID)
    assert t is not None and t.storm_total == 0
    assert t.evidence == {"response_code": "55"} and t.causes == ("card.pin",)


def test_sign_in_history_and_last_successful_sign_in() -> None:
    first, second = sign_in(TID, "000001"), sign_in(TID, "000002")
    report = analyze(records([(0, ">", first), (0.5, "<", answer(first, "97")),
                              (600, ">", second), (600.5, "<", answer(second, "00"))]))
    t = report.terminal(TID)
    assert t is not None
    assert (t.sign_in_total, t.sign_in_failed) == (2, 1)
    assert [a.code for a in t.sign_ins] == ["97", "00"]
    assert t.last_successful_sign_in == t.sign_ins[-1].time
    assert t.evidence == {"response_code": "none"}
    only_failed = analyze(records([(0, ">", first), (0.5, "<", answer(first, "97"))])).terminal(TID)
    assert only_failed is not None and only_failed.last_successful_sign_in is None
    assert only_failed.evidence == {"response_code": "97"}
    assert only_failed.causes[0] == "acct.not_registered"


def test_check_values_are_verified_when_the_master_key_is_known() -> None:
    login = sign_in(TID, "000001")
    wrong_keys = issue_working_keys(bytes(16)).field_62
    steps: list[tuple[float, str, Message | bytes]] = [(0, ">", login), (0.4, "<", answer(login, "00", f62=wrong_keys))]
    known = analyze(records(steps), master_keys={TID: TMK}).terminal(TID)
    assert known is not None
    assert known.evidence == {"response_code": "none", "key_check": "master_key_missing"}
    assert known.causes[0] == "sw.master_key"
    assert known.sign_in_failed == 1 and known.last_successful_sign_in is None
    unknown = analyze(records(steps)).terminal(TID)
    assert unknown is not None and unknown.evidence == {"response_code": "none"}
    good = issue_working_keys(TMK).field_62
    ok = analyze(records([(0, ">", login), (0.4, "<", answer(login, "00", f62=good))]), master_keys={TID: TMK})
    assert ok.terminal(TID).evidence == {"response_code": "none", "key_check": "ok"}  # type: ignore[union-attr]


def test_mac_failures_give_work_key_invalid() -> None:
    buy = purchase(TID, "000002")
    t = analyze(records([(0, ">", buy), (0.2, "<", answer(buy, "A0"))])).terminal(TID)
    assert t is not None
    assert t.evidence == {"response_code": "A0", "key_check": "work_key_invalid"} and t.causes == ("sw.keys",)


def test_fleet_storm_of_host_failures_marks_the_host_degraded() -> None:
    steps: list[tuple[float, str, Message | bytes]] = []
    for n in range(3):
        tid = f"1000000{n + 1}"
        for i in range(2):
            buy = purchase(tid, f"{i + 1:06d}")
            steps += [(n * 10 + i, ">", buy), (n * 10 + i + 0.2, "<", answer(buy, "96"))]
    report = analyze(records(sorted(steps, key=lambda s: s[0])),
                     AnalysisSettings(storm_threshold=5, fleet_storm_threshold=5, storm_window=300))
    assert len(report.fleet_storms) == 1
    storm = report.fleet_storms[0]
    assert (storm.code, storm.count, storm.terminal_count) == ("96", 6, 3)
    for t in report.terminals:
        assert t.evidence == {"response_code": "96", "host_status": "degraded"}
        assert t.storm_total == 0  # two each: no storm for any one terminal


def test_malformed_input_is_counted_with_line_numbers_and_never_stops_the_analysis() -> None:
    buy = purchase(TID, "000001")
    lines = [*log_lines([(0, ">", buy)]), "not a line", "2024-05-01T08:00:01Z < 0003600000"]
    lines += log_lines([(2, "<", answer(buy, "00"))])
    report = analyze(iter_log(lines))
    assert report.malformed == 2 and report.frames == 3
    assert report.errors[0].startswith("line 2:") and report.errors[1].startswith("line 3: tpdu")
    t = report.terminal(TID)
    assert t is not None and t.approved == 1


def test_answers_without_requests_and_answers_without_trace_numbers() -> None:
    request = Message("0800", {"41": TID, "60": "00000001371"})
    reply = Message("0810", {"39": "00", "41": TID, "60": "00000001371"})
    stray = answer(purchase(TID, "000099"), "00")
    report = analyze(records([(0, ">", request), (1, "<", reply), (2, "<", stray)]))
    t = report.terminal(TID)
    assert report.unmatched_answers == 1
    assert t is not None and t.timeouts == 0 and t.messages == {"ca_key_download_end": 1}


def test_pending_requests_stay_bounded() -> None:
    analyzer = TrafficAnalyzer(AnalysisSettings(timeout=1e9, max_pending=50))
    peak = 0
    for record in records([(i, ">", purchase(TID, f"{i + 1:06d}")) for i in range(300)]):
        analyzer.add(record)
        peak = max(peak, analyzer.pending_requests)
    report = analyzer.finish()
    assert peak == 50
    t = report.terminal(TID)
    assert t is not None and t.timeouts == 300


def test_input_is_consumed_lazily() -> None:
    analyzer = TrafficAnalyzer()
    seen: list[int] = []

    def stream() -> Iterator[FrameRecord]:
        for record in records([(i, ">", purchase(TID, f"{i + 1:06d}")) for i in range(20)]):
            seen.append(analyzer.frames)  # frames taken in before this one was produced
            yield record

    analyzer.add_all(stream())
    assert seen == list(range(20))


def test_report_is_json_ready_and_holds_no_card_data() -> None:
    pan = "6222021234567890123"
    buy = purchase(TID, "000001", pan=pan, f35=f"{pan}D2912", f52="00112233445566FF")
    report = analyze(records([(0, ">", encode_frame(buy)), (1, "<", answer(buy, "05"))]))
    text = json.dumps(report.to_dict(), ensure_ascii=False)
    assert pan not in text and "0011223344" not in text
    data = report.to_dict()
    assert data["failures"] == {"05": 1}
    assert data["terminals"][0]["last_outcome"]["zh"] == "不予承兑"  # type: ignore[index]


def test_background_declines_of_a_busy_fleet_are_no_fleet_storm() -> None:
    steps: list[tuple[float, str, Message | bytes]] = []
    for i in range(400):
        tid = f"{20000000 + i % 100:08d}"
        buy = purchase(tid, f"{i + 1:06d}")
        steps += [(i * 0.5, ">", buy), (i * 0.5 + 0.2, "<", answer(buy, "51" if i % 20 == 0 else "00"))]
    report = analyze(records(steps), AnalysisSettings(fleet_storm_threshold=10, storm_window=300))
    assert report.to_dict()["failures"] == {"51": 20}
    assert report.fleet_storms == ()
