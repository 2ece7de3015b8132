"""`posops diagnose`: one assessment as JSON, and the step-by-step wizard driven through its prompts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from posops.cli import app

runner = CliRunner()


def test_json_gives_the_ranking_and_next_step() -> None:
    result = runner.invoke(app, ["diagnose", "--text", "小票打出来是白纸", "--evidence", "printer_paper=ok", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["symptom"] == "printer" and doc["status"] == "open"
    assert doc["ranking"][0]["cause"] in ("hw.printer_head", "hw.printer_faulty")
    assert "hw.printer_paper" not in [r["cause"] for r in doc["ranking"][:1]], "the paper was checked and is fine"


def test_bad_evidence_exits_2() -> None:
    for evidence in ("printer_paper", "no_such_check=ok", "printer_paper=purple"):
        result = runner.invoke(app, ["diagnose", "--text", "x", "--evidence", evidence, "--json"])
        assert result.exit_code == 2, evidence
        assert "error" in result.output


def test_wizard_runs_until_the_fault_is_fixed() -> None:
    # The paper roll was empty: the paper check answers so, and reloading the paper fixes it.
    result = runner.invoke(app, ["diagnose", "--text", "不出小票", "--lang", "en"], input="empty_or_reversed\nfixed\n")
    assert result.exit_code == 0, result.output
    assert "Replace or correctly load the paper roll" in result.output
    assert result.output.rstrip().endswith("resolved")
