"""`POST /api/v1/iso8583/decode`: the masked decode of a frame; a malformed one is a 422 naming field and offset."""

from __future__ import annotations

from fastapi.testclient import TestClient

from posops.iso8583.codec import encode_frame
from posops.iso8583.keys import issue_working_keys
from tests.conftest import Fleet
from tests.helpers import error_fields
from tests.iso8583.helpers import answer, captures, expected, purchase, sign_in
from tests.iso8583.traffic import CARD_SECRETS, MASKED_PAN, PAN, PIN_BLOCK, TRACK_2

URL = "/api/v1/iso8583/decode"
TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def test_real_captures_decode_as_published(client: TestClient, fleet: Fleet) -> None:
    published = expected()
    for name, frame in captures().items():
        response = client.post(URL, json={"hex": frame.hex()}, headers=fleet.headers("merchant"))
        assert response.status_code == 200, (name, response.text)
        body = response.json()
        assert (body["tpdu"], body["header"], body["mti"]) == (published[name]["tpdu"], published[name]["header"],
                                                               published[name]["mti"]), name


def test_card_data_comes_back_masked_with_names_and_meaning(client: TestClient, fleet: Fleet) -> None:
    frame = encode_frame(purchase("90000000", "000001", pan=PAN, f35=TRACK_2, f52=PIN_BLOCK, f39="55"))
    spaced = " ".join(frame.hex()[i:i + 32] for i in range(0, len(frame.hex()), 32))
    response = client.post(URL, json={"hex": spaced}, headers=fleet.headers("agent"))
    assert response.status_code == 200
    body = response.json()
    assert body["fields"]["2_masked"] == MASKED_PAN and "2" not in body["fields"]
    assert body["withheld"] == ["35", "52"]
    assert body["name"]["id"] == "purchase" and body["response"]["zh"] == "密码错"
    assert body["evidence"] == {"response_code": "55"}
    for secret in CARD_SECRETS:
        assert secret not in response.text


def test_malformed_frame_is_422_naming_the_field_and_the_byte_offset(client: TestClient, fleet: Fleet) -> None:
    frame = bytearray(encode_frame(purchase("90000000", "000001", pan=PAN)))
    frame[2 + 5 + 6 + 2 + 8] = 0x9A  # field 2's length prefix: not BCD
    response = client.post(URL, json={"hex": frame.hex()}, headers=fleet.headers("agent"))
    assert response.status_code == 422
    assert error_fields(response) == ["hex"]
    [error] = response.json()["detail"]["fields"]
    assert error["context"]["field"] == 2 and error["context"]["offset"] == 23
    assert error["reason"].startswith("field 2 at byte 23: ")
    assert error["message"]["zh-CN"].startswith("第 2 域（第 23 字节）：")
    assert PAN[:10] not in response.text


def test_bad_hex_and_bad_master_key_are_422(client: TestClient, fleet: Fleet) -> None:
    odd = client.post(URL, json={"hex": "00ABC"}, headers=fleet.headers("agent"))
    assert odd.status_code == 422 and odd.json()["detail"]["fields"][0]["context"]["part"] == "hex"
    assert odd.json()["detail"]["fields"][0]["reason"] == "hex at byte 2: odd number of hex digits"
    assert odd.json()["detail"]["fields"][0]["message"]["zh-CN"] == "十六进制报文（第 2 字节）：十六进制位数为奇数。"
    not_hex = client.post(URL, json={"hex": "00ZZ"}, headers=fleet.headers("agent"))
    assert not_hex.status_code == 422 and not_hex.json()["detail"]["fields"][0]["context"]["offset"] == 1
    frame = captures()["signin_resp"].hex()
    key = client.post(URL, json={"hex": frame, "master_key": "0011"}, headers=fleet.headers("agent"))
    assert key.status_code == 422 and error_fields(key) == ["master_key"]
    assert key.json()["detail"]["message"]["en"] == "master key: must be 8, 16 or 24 bytes (16, 32 or 48 hex digits)"
    extra = client.post(URL, json={"hex": frame, "pan": PAN}, headers=fleet.headers("agent"))
    assert extra.status_code == 422


def test_master_key_verifies_the_sign_in_keys(client: TestClient, fleet: Fleet) -> None:
    issued = issue_working_keys(TMK)
    request = sign_in("90000000", "000001")
    frame = encode_frame(answer(request, "00", f62=issued.field_62)).hex()
    right = client.post(URL, json={"hex": frame, "master_key": TMK.hex()}, headers=fleet.headers("technician"))
    assert right.status_code == 200
    assert right.json()["key_verification"]["ok"] is True and right.json()["evidence"]["key_check"] == "ok"
    wrong = client.post(URL, json={"hex": frame, "master_key": "11" * 16}, headers=fleet.headers("technician"))
    assert wrong.json()["evidence"]["key_check"] == "master_key_missing"
    assert issued.field_62[:32] not in right.text  # the encrypted keys themselves: only check values are shown
    without = client.post(URL, json={"hex": frame}, headers=fleet.headers("technician")).json()
    assert without["key_verification"] is None
