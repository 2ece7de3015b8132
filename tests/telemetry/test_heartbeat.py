import json

import pytest

from posops.telemetry.api import _HEARTBEAT
from posops.telemetry.heartbeat import MAX_PAYLOAD_BYTES, HeartbeatError, parse_heartbeat
from tests.telemetry.heartbeats import NOW, full_payload


def encode(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def reason(data: bytes, **kwargs: str) -> str:
    with pytest.raises(HeartbeatError) as caught:
        parse_heartbeat(data, **kwargs)
    return caught.value.reason


def test_a_complete_heartbeat_parses_into_typed_sections():
    hb = parse_heartbeat(encode(full_payload()))
    assert hb.sn == "PAA920000001" and hb.seq == 42
    assert hb.ts == NOW and hb.ts.utcoffset() is not None
    assert hb.battery is not None and hb.battery.pct == 80 and hb.battery.power_source == "battery"
    assert hb.network is not None and hb.network.signal_dbm == -90 and hb.network.host_reachable
    assert hb.last_signin is not None and hb.last_signin.ok is True


def test_only_version_serial_sequence_and_time_are_required():
    hb = parse_heartbeat(b'{"v": 1, "sn": "X1", "seq": 0, "ts": "2025-03-01T02:00:00Z"}')
    assert hb.battery is None and hb.network is None and hb.screen_notice is None and hb.tamper is None
    for field in ("v", "sn", "seq", "ts"):
        payload = full_payload()
        del payload[field]
        assert reason(encode(payload)) == f"{field}: Field required"


def test_unknown_fields_are_kept_and_written_back_unchanged():
    payload = full_payload(modem={"imei_tail": "4821", "temp_c": 41.5}, boot_count=7)
    payload["battery"]["cycles"] = 312
    hb = parse_heartbeat(encode(payload))
    assert hb.extra_fields == {"modem": {"imei_tail": "4821", "temp_c": 41.5}, "boot_count": 7}
    again = json.loads(hb.to_json())
    assert again["modem"] == {"imei_tail": "4821", "temp_c": 41.5}
    assert again["battery"]["cycles"] == 312
    assert again == json.loads(encode(payload))


def test_reserialising_does_not_invent_sections_that_were_not_sent():
    hb = parse_heartbeat(b'{"v": 1, "sn": "X1", "seq": 3, "ts": "2025-03-01T10:00:00+08:00", "x": null}')
    assert json.loads(hb.to_json()) == {"v": 1, "sn": "X1", "seq": 3, "ts": "2025-03-01T10:00:00+08:00", "x": None}


@pytest.mark.parametrize("ts", ["2025-03-01T10:00:00", "2025-03-01 10:00:00", "1740794400"])
def test_a_time_without_zone_is_refused(ts: str):
    assert reason(encode(full_payload(ts=ts))).startswith("ts: ")


@pytest.mark.parametrize("ts", ["0226-07-20T12:20:51+17:32", "2025-03-01T10:00:00-14:01"])
def test_a_time_with_an_offset_no_clock_shows_is_refused(ts: str):
    assert reason(encode(full_payload(ts=ts))) == "ts: UTC offset out of range (-14:00 … +14:00)"


def test_the_widest_real_offsets_are_read():
    for ts in ("2025-03-01T10:00:00+14:00", "2025-03-01T10:00:00-12:00"):
        assert parse_heartbeat(encode(full_payload(ts=ts))).ts.isoformat() == ts


@pytest.mark.parametrize(("changes", "expected"), [
    ({"v": 2}, "v: Input should be 1"),
    ({"seq": "42"}, "seq: Input should be a valid integer"),
    ({"seq": -1}, "seq: Input should be greater than or equal to 0"),
    ({"seq": 2**63}, "seq: Input should be less than or equal to 9223372036854775807"),
    ({"sn": "A/B"}, "sn: String should match pattern"),
    ({"battery": {"pct": 101, "charging": False, "power_source": "battery"}},
     "battery.pct: Input should be less than or equal to 100"),
    ({"battery": {"pct": 50, "charging": 1, "power_source": "battery"}},
     "battery.charging: Input should be a valid boolean"),
    ({"network": {"type": "5g", "host_reachable": True}}, "network.type: Input should be 'wifi', '4g' or 'ethernet'"),
    ({"printer": {"paper": "ok"}}, "printer.head_temp_ok: Field required"),
    ({"last_signin": {"at": "2025-03-01T08:00:00", "ok": True}}, "last_signin.at: Input should have timezone info"),
])
def test_invalid_fields_are_named_in_the_reason(changes: dict[str, object], expected: str):
    assert reason(encode(full_payload(**changes))).startswith(expected)


def test_several_problems_are_reported_together():
    text = reason(encode(full_payload(v=3, seq="x")))
    assert "v: Input should be 1" in text and "seq: Input should be a valid integer" in text


@pytest.mark.parametrize(("data", "expected"), [
    (b"{\"v\": 1,", "not valid JSON"),
    (b"[1, 2]", "payload: Input should be an object"),
    (b"\xff\xfe{}", "payload is not UTF-8 text"),
    (b"", "not valid JSON"),
])
def test_garbage_is_refused_with_a_reason(data: bytes, expected: str):
    assert reason(data).startswith(expected)


def test_oversized_payloads_are_refused_before_parsing():
    data = encode(full_payload(note="x" * MAX_PAYLOAD_BYTES))
    assert reason(data).startswith("payload too large")


def test_the_sender_must_be_the_terminal_named_in_the_payload():
    data = encode(full_payload())
    assert parse_heartbeat(data, expected_sn="PAA920000001").sn == "PAA920000001"
    assert "does not match" in reason(data, expected_sn="PAA920000002")


def test_reasons_stay_short_enough_for_a_dead_letter_row():
    payload = {f"bad{i}": 1 for i in range(200)} | {"battery": [1] * 500}
    assert len(reason(encode(payload))) <= 500


def test_the_app_restart_counter_is_a_bounded_count():
    payload = full_payload()
    payload["software"]["restarts"] = 12
    hb = parse_heartbeat(encode(payload))
    assert hb.software is not None and hb.software.restarts == 12
    assert json.loads(hb.to_json())["software"]["restarts"] == 12
    assert parse_heartbeat(encode(full_payload())).software.restarts is None  # type: ignore[union-attr]
    for bad, expected in [(-1, "greater than or equal to 0"), (2**63, "less than or equal to"),
                          ("12", "valid integer")]:
        payload["software"]["restarts"] = bad
        assert reason(encode(payload)).startswith("software.restarts: ")
        assert expected in reason(encode(payload))


def test_the_documented_heartbeat_schema_names_the_restart_counter():
    software = _HEARTBEAT["properties"]["software"]
    options = software.get("anyOf", [software])
    restarts = next(o for o in options if o.get("type") == "object")["properties"]["restarts"]
    integer = next(o for o in restarts.get("anyOf", [restarts]) if o.get("type") == "integer")
    assert (integer["minimum"], integer["maximum"]) == (0, 2**63 - 1)
