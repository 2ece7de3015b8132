"""The BIN table: card class from the first six digits of a full, masked or redacted number; a checked table file."""

from __future__ import annotations

from pathlib import Path

import pytest

from posops.iso8583.bins import BinTableError, CardClass, card_class, default_bin_table, load_bin_table
from posops.iso8583.masking import blank_pan, mask_pan

DEBIT_PAN = "6222021234567890123"  # ICBC 622202
CREDIT_PAN = "6225751234567894"  # CMB 622575


def test_debit_and_credit_bins_classify() -> None:
    assert card_class(DEBIT_PAN) is CardClass.DEBIT
    assert card_class(CREDIT_PAN) is CardClass.CREDIT
    entry = default_bin_table().lookup(CREDIT_PAN)
    assert entry is not None and entry.issuer.zh == "招商银行" and entry.confidence in ("medium", "low")


def test_a_masked_or_redacted_number_classifies_like_the_full_one() -> None:
    assert card_class("621483******1234") is CardClass.DEBIT
    for pan in (DEBIT_PAN, CREDIT_PAN):
        assert card_class(mask_pan(pan)) is card_class(pan)
        assert card_class(blank_pan(pan)) is card_class(pan)


@pytest.mark.parametrize("number", ["6250946000000016", "4111111111111111", "62", "", "******1234", "62220"])
def test_an_unlisted_or_unreadable_bin_is_unknown(number: str) -> None:
    assert card_class(number) is CardClass.UNKNOWN


def test_ranges_include_both_ends_and_nothing_beyond() -> None:
    assert card_class("6222300000000000") is CardClass.CREDIT  # ICBC 622230-622240
    assert card_class("6222400000000000") is CardClass.CREDIT
    assert card_class("6222410000000000") is CardClass.UNKNOWN


def test_the_shipped_table_is_a_sample_with_a_confidence_and_a_note_on_every_entry() -> None:
    table = default_bin_table()
    assert 50 <= len(table) <= 1000
    assert {e.card_class for e in table.entries} == {CardClass.DEBIT, CardClass.CREDIT}
    assert all(e.confidence != "high" and e.note for e in table.entries)
    header = Path(__file__).resolve().parents[2].joinpath("src/posops/kb/bin_ranges.yaml").read_text()
    assert "SAMPLE" in header and "https://github.com/hexindai/bcbc" in header


def _table(tmp_path: Path, ranges: str) -> Path:
    path = tmp_path / "bins.yaml"
    path.write_text("version: 1\nranges:\n" + ranges, encoding="utf-8")
    return path


ENTRY = "  - {{issuer: {{zh-CN: 银行, en: Bank}}, class: {cls}, bins: [{bins}], confidence: {conf}, note: n}}\n"


@pytest.mark.parametrize(("ranges", "said"), [
    (ENTRY.format(cls="debit", bins='"622202"', conf="low") * 2, "listed twice"),
    (ENTRY.format(cls="unknown", bins='"622202"', conf="low"), "debit or credit"),
    (ENTRY.format(cls="debit", bins='"62220"', conf="low"), "six-digit"),
    (ENTRY.format(cls="debit", bins='"622210-622201"', conf="low"), "reversed"),
    (ENTRY.format(cls="debit", bins='"620000-629999"', conf="low"), "spans more"),
    (ENTRY.format(cls="debit", bins='"622202"', conf="sure"), "confidence"),
    ("  - {issuer: {zh-CN: 银行, en: Bank}, class: debit, bins: ['622202'], confidence: low}\n", "note"),
])
def test_a_malformed_table_is_refused_naming_the_problem(tmp_path: Path, ranges: str, said: str) -> None:
    with pytest.raises(BinTableError, match=said):
        load_bin_table(_table(tmp_path, ranges))


def test_a_table_file_of_ones_own_is_read(tmp_path: Path) -> None:
    table = load_bin_table(_table(tmp_path, ENTRY.format(cls="credit", bins='"999990-999991"', conf="low")))
    assert card_class("9999911234567890", table) is CardClass.CREDIT
    assert card_class(DEBIT_PAN, table) is CardClass.UNKNOWN
