from __future__ import annotations

import pytest

from posops.iso8583.codec import decode_frame
from posops.iso8583.naming import name_message, name_of
from tests.iso8583.helpers import captures

CAPTURES = captures()


@pytest.mark.parametrize(("name", "kind", "role"), [
    ("signin_req", "sign_in", "request"),
    ("signin_resp", "sign_in", "response"),
    ("signoff_resp", "sign_off", "response"),
    ("settle_resp", "settlement", "response"),
    ("purchase_resp", "purchase", "response"),
    ("icparam_query_resp", "ic_parameter_status_upload", "response"),
    ("keydown_end_resp", "ca_key_download_end", "response"),
    ("batch_upload_resp", "batch_upload", "response"),
])
def test_captures_are_named(name: str, kind: str, role: str) -> None:
    named = name_message(decode_frame(CAPTURES[name]))
    assert (named.kind.id, named.role) == (kind, role)


@pytest.mark.parametrize(("mti", "type_code", "network_code", "kind"), [
    ("0200", "22", "000", "purchase"),
    ("0210", "23", "000", "void"),
    ("0200", "01", "000", "balance_inquiry"),
    ("0100", "10", "000", "pre_auth"),
    ("0220", "25", "000", "refund"),
    ("0400", "22", "000", "reversal"),
    ("0500", "00", "201", "settlement"),
    ("0320", "00", "202", "batch_upload_end"),
    ("0800", "00", "001", "sign_in"),
    ("0800", "00", "004", "sign_in"),
    ("0800", "00", "360", "parameter_transfer"),
    ("0800", "00", "380", "ic_parameter_download"),
    ("0800", "00", "365", "parameter_download"),
    ("0820", "00", "301", "echo_test"),
    ("0820", "00", "362", "status_upload"),
    ("0820", "00", "002", "sign_off"),
    ("0200", "99", "000", "financial"),
    ("0999", None, None, "unknown"),
    ("08x0", None, None, "unknown"),
])
def test_names_from_mti_and_field_60(mti: str, type_code: str | None, network_code: str | None, kind: str) -> None:
    assert name_of(mti, type_code, network_code).kind.id == kind


def test_names_are_bilingual() -> None:
    named = name_of("0400", "22", "000")
    assert (named.kind.zh, named.kind.en) == ("冲正", "Reversal")
    assert named.to_dict() == {"id": "reversal", "zh": "冲正", "en": "Reversal", "role": "request"}
