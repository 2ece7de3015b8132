"""A refused traffic upload and a malformed frame are said in the reader's language: zh-CN and English."""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from posops.iso8583.codec import decode_frame, encode_frame, frame_from_hex
from posops.iso8583.errors import FrameError
from posops.iso8583.message import Message
from tests.conftest import Fleet
from tests.helpers import csrf_token, login

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}(?:[ ,']+[A-Za-z]{2,}){2,}")
"""Three English words in a row: an English sentence, not "ISO 8583", "pcap" or a field number."""


def _upload_error(html: str) -> str:
    found = re.search(r'data-testid="upload-error">(.*?)</p>', html, re.S)
    assert found is not None, "the page shows why the file was refused"
    return found.group(1).strip()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_refused_upload_is_said_in_the_page_language(client: TestClient, fleet: Fleet, lang: str) -> None:
    login(client, "agent", lang=lang)
    token = csrf_token(client.get("/traffic/upload").text)
    for content, english in ((b"", "file: the file is empty"),
                             (b"%PDF-1.4 not a log\n", "file: no ISO 8583 frames found: expected a frame log "
                                                       "(time, > or <, hex per line) or a pcap capture")):
        response = client.post("/traffic/upload", data={"csrf_token": token},
                               files={"file": ("x.log", content, "text/plain")})
        assert response.status_code == 422
        said = _upload_error(response.text)
        if lang == "zh-CN":
            assert CJK.search(said) and not ENGLISH_WORDS.search(said), said
            assert said.startswith("文件：")
        else:
            assert said == english.replace(">", "&gt;").replace("<", "&lt;")


def _frame(tpdu_id: int = 0x60) -> bytes:
    frame = bytearray(encode_frame(Message("0800", {"11": "000001", "41": "10000001", "60": "00000001003"})))
    frame[2] = tpdu_id
    return bytes(frame)


@pytest.mark.parametrize(("frame", "zh", "en"), [
    (lambda: frame_from_hex("00ABC"), "十六进制报文（第 2 字节）：十六进制位数为奇数。",
     "hex at byte 2: odd number of hex digits"),
    (lambda: bytes.fromhex("000500"), "长度前缀（第 0 字节）：长度前缀为 5 字节，实际后续 1 字节。",
     "length at byte 0: length prefix says 5 bytes, 1 follow"),
    (lambda: _frame(0x61), "TPDU（第 2 字节）：TPDU 标识为 61，应为 60。",
     "tpdu at byte 2: TPDU id is 61, expected 60"),
])
def test_a_frame_error_says_part_and_offset_in_both_languages(frame: Callable[[], bytes], zh: str, en: str) -> None:
    with pytest.raises(FrameError) as caught:
        decode_frame(frame())
    said = caught.value.said
    assert (said.zh, said.en) == (zh, en) and said.en == str(caught.value)
    again = pickle.loads(pickle.dumps(caught.value))
    assert (str(again), again.said) == (str(caught.value), said), "a worker process gets it back whole"


def test_pyiso8583s_own_reason_is_said_generically_in_chinese() -> None:
    error = FrameError("2", 23, "length prefix is not BCD")
    assert error.said.en == "field 2 at byte 23: length prefix is not BCD"
    assert error.said.zh == "第 2 域（第 23 字节）：数据不符合该部分的格式。"
