"""Loading and validating the knowledge files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from posops.diagnosis.knowledge import DEFAULT_DIR, Knowledge, KnowledgeError, load_knowledge

SHARED_TAXONOMY = Path(__file__).resolve().parents[3] / "shared" / "domain" / "taxonomy.yaml"


def test_packaged_knowledge_is_complete(knowledge: Knowledge) -> None:
    assert len(knowledge.causes) >= 39
    for check in knowledge.checks.values():
        assert check.how["zh-CN"] and check.how["en"]
        for cause in knowledge.causes:
            dist = knowledge.tables.outcome_given_cause[check.id][cause]
            assert set(dist) == set(check.outcomes)
            assert min(dist.values()) > 0
            assert sum(dist.values()) == pytest.approx(1.0, abs=0.01)
    for action in knowledge.actions.values():
        assert action.how["zh-CN"] and action.how["en"]
    for symptom, dist in knowledge.tables.causes_given_symptom.items():
        linked = {c.id for c in knowledge.causes.values() if symptom in c.symptoms}
        assert linked <= set(dist)


def test_default_knowledge_is_cached() -> None:
    assert load_knowledge() is load_knowledge()


@pytest.mark.skipif(not SHARED_TAXONOMY.exists(), reason="shared taxonomy not next to the repository")
def test_shared_taxonomy_contract_is_kept(knowledge: Knowledge) -> None:
    shared = yaml.safe_load(SHARED_TAXONOMY.read_text(encoding="utf-8"))
    for entry in shared["checks"]:
        check = knowledge.checks[entry["id"]]
        assert check.outcomes == tuple(str(o) for o in entry["outcomes"])
        assert check.cost == entry["cost"]
    for entry in shared["actions"]:
        action = knowledge.actions[entry["id"]]
        assert action.cost == entry["cost"]
        assert action.fixes_all == ("*" in entry["fixes"])
        assert action.fixes == frozenset(c for c in entry["fixes"] if c != "*")
    assert {s["id"] for s in shared["symptoms"]} <= set(knowledge.symptoms)
    assert {c["id"] for c in shared["causes"]} <= set(knowledge.causes)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_copy_of_the_files_loads(kb_copy: Path) -> None:
    assert set(load_knowledge(kb_copy).checks) == set(load_knowledge().checks)


@pytest.mark.parametrize(
    ("file", "old", "new", "entry"),
    [
        (
            "likelihoods.yaml",
            'hw.power_supply: {"on": 0.15, "off": 0.85}',
            'hw.power_supply: {"on": 0.25, "off": 0.85}',
            "checks.power_led.causes.hw.power_supply",
        ),
        (
            "likelihoods.yaml",
            "net.cable: {ok: 0.15, loose: 0.85}",
            "net.cable: {ok: 0.15}",
            "checks.cable_check.causes.net.cable",
        ),
        (
            "likelihoods.yaml",
            "net.cable: {ok: 0.15, loose: 0.85}",
            "net.cabel: {ok: 0.15, loose: 0.85}",
            "checks.cable_check.causes.net.cabel",
        ),
        (
            "likelihoods.yaml",
            "hw.printer_paper: {ok: 0.08, empty_or_reversed: 0.92}",
            "hw.printer_paper: {ok: 0.0, empty_or_reversed: 1.0}",
            "checks.printer_paper.causes.hw.printer_paper.ok",
        ),
        ("priors.yaml", "    hw.printer_head: 0.30\n", "    hw.printer_head: 0.50\n", "causes.printer"),
        ("priors.yaml", "    hw.keypad: 0.85\n", "    hw.keypads: 0.85\n", "causes.keypad.hw.keypads"),
        ("guidance.yaml", "      en: Tell the cardholder politely", "      fr: Dites", "actions.ask_other_payment.how"),
        ("guidance.yaml", '      "on": {zh-CN: 指示灯亮, en: Light on}\n', "", "checks.power_led.outcomes.on"),
        ("lexicon.yaml", "symptoms: {printer: 3.5}", "symptoms: {printers: 3.5}", "concept no_print"),
        ("lexicon.yaml", "evidence: {print_test: faint}", "evidence: {print_test: pale}", "concept print_faint"),
        ("terminal_messages.yaml", '    "51":\n', '    "52":\n', "response_codes.phrases.52"),
        ("taxonomy.yaml", "fixes: [hw.reader_dirty]", "fixes: [hw.reader_grimy]", "action clean_reader"),
        (
            "taxonomy.yaml",
            'en: "Verify IP, gateway, DNS and host address settings"',
            "en: Verify IP, gateway, DNS and host address settings",
            "check net_params",
        ),
    ],
)
def test_broken_entry_names_file_and_entry(kb_copy: Path, file: str, old: str, new: str, entry: str) -> None:
    edit(kb_copy, file, old, new)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_copy)
    assert caught.value.file == file
    assert caught.value.entry == entry
    assert file in str(caught.value) and entry in str(caught.value)


def test_missing_guidance_for_a_check_is_rejected(kb_copy: Path) -> None:
    doc = yaml.safe_load((kb_copy / "guidance.yaml").read_text(encoding="utf-8"))
    del doc["checks"]["keypad_test"]
    (kb_copy / "guidance.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"guidance\.yaml: checks\.keypad_test: missing guidance"):
        load_knowledge(kb_copy)


def test_invalid_yaml_and_missing_file_are_reported(kb_copy: Path) -> None:
    (kb_copy / "priors.yaml").write_text("causes: [unclosed\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"priors\.yaml: file: not valid YAML"):
        load_knowledge(kb_copy)
    (kb_copy / "priors.yaml").unlink()
    with pytest.raises(KnowledgeError, match=r"priors\.yaml: file: cannot read"):
        load_knowledge(kb_copy)
