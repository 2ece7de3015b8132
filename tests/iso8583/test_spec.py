from __future__ import annotations

import pytest

from posops.iso8583.spec import FIELDS, join_field_60, pyiso8583_spec, split_field_60


def test_field_60_parts_split_by_width() -> None:
    assert split_field_60("22000065000501") == {
        "60.1": "22", "60.2": "000065", "60.3": "000", "60.4": "5", "60.5": "0", "60.6": "1"}
    assert split_field_60("00") == {"60.1": "00"}
    assert split_field_60("") == {}


def test_field_60_join_is_the_inverse_of_split() -> None:
    for value in ("00000132003", "0000025320350", "22000065000501", "2200000100050003"[:14]):
        assert join_field_60(split_field_60(value)) == value
    with pytest.raises(ValueError):
        join_field_60({"60.1": "2"})


def test_spec_rows_describe_themselves_in_the_usual_notation() -> None:
    assert FIELDS[2].describe() == "n..19 LLVAR"
    assert FIELDS[52].describe() == "b64"
    assert FIELDS[62].describe() == "b...512 LLLVAR"
    assert FIELDS[39].describe() == "an2"


def test_pyiso8583_spec_follows_the_rows() -> None:
    spec = pyiso8583_spec()
    assert spec["2"]["len_type"] == 1 and spec["2"]["len_count"] == "nibbles" and spec["2"]["right_pad"] == "0"
    assert spec["23"]["left_pad"] == "0" and spec["22"]["right_pad"] == "0"
    assert spec["60"]["len_type"] == 2 and spec["60"]["len_enc"] == "bcd"
    assert spec["62"]["data_enc"] == "b" and "len_count" not in spec["62"]
    assert spec["41"]["data_enc"] == "ascii"
    assert {k for k in spec if k.isdigit() and k != "1"} == {str(n) for n in FIELDS}
