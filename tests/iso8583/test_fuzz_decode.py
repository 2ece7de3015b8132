"""Fuzzing the decoder: mutated real frames raise only FrameError (the mutator is bench/iso8583_fuzz.py's)."""

import random

import pytest
from bench import iso8583_fuzz
from bench.iso8583_fuzz import HEX_TEXT, KINDS, MUTATIONS, Tally, check_frame, corpus, fuzz, seed_frames

from posops.iso8583.safe import decode_safe

SEED = 14


@pytest.fixture(scope="module")
def tally() -> Tally:
    return fuzz(20_000, seed=SEED)


def test_mutated_frames_raise_only_frame_error_and_never_show_card_data(tally: Tally):
    assert tally.frames == 20_000
    assert sum(tally.foreign.values()) == 0, tally.examples
    assert tally.leaks == 0, tally.examples


def test_every_mutation_kind_is_refused_and_most_reach_a_decoded_frame(tally: Tally):
    assert all(tally.refused[kind] > 0 for kind in KINDS)
    # Damage inside the data often leaves a frame that still decodes: the masking, TLV and
    # naming paths then run on it. Damage to the framing almost never does.
    for kind in ("bit_flip", "byte_set", "field_data", "mti_tpdu", "splice", "bitmap", HEX_TEXT):
        assert tally.decoded[kind] > 0, kind


def test_refusals_come_from_every_part_of_the_frame(tally: Tally):
    assert {"length", "tpdu", "header", "mti", "bitmap", "field", "hex"} <= set(tally.parts)


def test_the_seed_frames_all_decode():
    assert [decode_safe(frame).mti for frame in seed_frames()]
    assert len(corpus()) == len(seed_frames()) >= 16
    assert any("55" in layout_.frame.hex() for layout_ in corpus())


def test_a_foreign_exception_is_counted_and_reported_without_card_numbers(monkeypatch: pytest.MonkeyPatch):
    def broken(frame: bytes, master_key: bytes | None = None) -> None:
        raise KeyError("6250946000000016")

    monkeypatch.setattr(iso8583_fuzz, "decode_safe", broken)
    tally = Tally()
    check_frame(tally, "bit_flip", seed_frames()[0], None)
    assert tally.foreign == {"bit_flip": 1}
    assert tally.examples == ["bit_flip (62 bytes) in decode_safe: KeyError: '625094******0016'"]


def test_a_frame_log_that_raises_is_foreign_even_with_frame_error(monkeypatch: pytest.MonkeyPatch):
    def refusing(frame: bytes) -> bytes:
        decode_safe(frame[:-1])  # the length no longer matches
        return frame

    monkeypatch.setattr(iso8583_fuzz, "redact_frame", refusing)
    tally = Tally()
    check_frame(tally, "splice", seed_frames()[0], None)
    assert tally.decoded == {"splice": 1} and tally.foreign == {"splice": 1}
    assert "redact_frame: FrameError" in tally.examples[0]


def test_a_run_is_the_same_whatever_the_number_of_processes():
    one, two = fuzz(1_200, seed=SEED, processes=1, chunk=400), fuzz(1_200, seed=SEED, processes=2, chunk=400)
    assert (one.decoded, one.refused, one.parts) == (two.decoded, two.refused, two.parts)
    assert fuzz(1_200, seed=SEED + 1, processes=1, chunk=400).refused != one.refused


def test_every_mutation_changes_the_frame():
    rng = random.Random(SEED)
    layouts = corpus()
    for name, mutation in MUTATIONS.items():
        changed = sum(mutation(rng, seed, layouts) != seed.frame for seed in layouts for _ in range(5))
        assert changed >= len(layouts) * 5 * 0.8, name
