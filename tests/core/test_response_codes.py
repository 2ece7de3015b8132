"""Field-39 codes read as the taxonomy's ``response_code`` outcomes, one table for every feature."""

from pathlib import Path

import pytest
import yaml

from posops.core.response_codes import RESPONSE_CODE_OUTCOMES, normalise_response_code, response_code_outcome

TAXONOMY = Path(__file__).resolve().parents[2] / "src" / "posops" / "kb" / "taxonomy.yaml"


def test_outcomes_are_the_taxonomy_check_outcomes() -> None:
    checks = {c["id"]: c for c in yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))["checks"]}
    assert list(RESPONSE_CODE_OUTCOMES) == [str(o) for o in checks["response_code"]["outcomes"]]


@pytest.mark.parametrize(("code", "outcome"), [
    ("00", "none"), ("51", "51"), ("a0", "A0"), (" 96 ", "96"), ("timeout", "timeout"), ("TIMEOUT", "timeout"),
])
def test_codes_in_the_taxonomy(code: str, outcome: str) -> None:
    assert response_code_outcome(code) == outcome


@pytest.mark.parametrize("code", ["12", "30", "68", "94", "ZZ", "", "none"])
def test_codes_outside_the_taxonomy_give_no_outcome(code: str) -> None:
    assert response_code_outcome(code) is None


def test_normalise() -> None:
    assert normalise_response_code(" a0") == "A0"
    assert normalise_response_code("Timeout ") == "timeout"
