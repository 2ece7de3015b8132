from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from posops.core.response_codes import RESPONSE_CODE_OUTCOMES, TIMEOUT
from posops.iso8583.response_codes import CODES, lookup


def _taxonomy() -> dict[str, Any]:
    return yaml.safe_load(resources.files("posops").joinpath("kb/taxonomy.yaml").read_text(encoding="utf-8"))


TAXONOMY = _taxonomy()
CHECKS = {c["id"]: c for c in TAXONOMY["checks"]}
CAUSES = {c["id"] for c in TAXONOMY["causes"]}


def test_outcome_list_is_the_taxonomy_one() -> None:
    assert list(RESPONSE_CODE_OUTCOMES) == [str(o) for o in CHECKS["response_code"]["outcomes"]]


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_speaks_only_taxonomy_vocabulary(code: str) -> None:
    meaning = CODES[code]
    for check, outcome in meaning.evidence().items():
        assert outcome in [str(o) for o in CHECKS[check]["outcomes"]], (check, outcome)
    assert set(meaning.causes) <= CAUSES
    assert meaning.zh and meaning.en


def test_codes_outside_the_outcome_list_give_no_response_code_evidence() -> None:
    assert lookup("12").evidence() == {}
    assert lookup("30").evidence() == {}
    assert lookup("Z9").category == "unknown" and lookup("Z9").evidence() == {}


def test_key_codes() -> None:
    assert lookup("00").evidence() == {"response_code": "none"}
    assert lookup("A0").evidence() == {"response_code": "A0", "key_check": "work_key_invalid"}
    assert lookup("97").evidence() == {"response_code": "97"}
    assert "acct.not_registered" in lookup("97").causes
    assert lookup("96").causes == ("ext.host_outage",)
    assert lookup(TIMEOUT).evidence() == {"response_code": "timeout"}
    assert lookup("51").category == "cardholder" and lookup("96").category == "host"
