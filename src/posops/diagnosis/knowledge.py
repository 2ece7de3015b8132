"""The diagnosis knowledge base: taxonomy, probabilities, guidance and lexicon, loaded and validated.

    >>> kb = load_knowledge()
    >>> kb.checks["power_led"].outcomes
    ('on', 'off')
    >>> round(sum(kb.tables.causes_given_symptom["printer"].values()), 6)
    1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from posops.core.i18n import LANGUAGES, normalize_lang
from posops.diagnosis.errors import KnowledgeError
from posops.diagnosis.lexicon import Lexicon, parse_lexicon
from posops.diagnosis.vocabulary import StepBy, StepOutcome
from posops.diagnosis.yamlcheck import as_list, finite, mapping, positive_number

__all__ = [
    "LANGUAGES",
    "Action",
    "Cause",
    "Check",
    "Knowledge",
    "KnowledgeError",
    "ProbabilityTables",
    "Symptom",
    "apply_overlay",
    "load_knowledge",
]

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "kb"
TOLERANCE = 0.01
REST = "_rest"
WILDCARD = "*"
STANDING_RATIO = 100.0
"""Likelihood ratio (decisive on Jeffreys' scale) by which a standing outcome must single its cause out."""
OVERLAY_FORMAT = "posops.diagnosis.overlay"

FILES = {
    "taxonomy": "taxonomy.yaml",
    "priors": "priors.yaml",
    "likelihoods": "likelihoods.yaml",
    "guidance": "guidance.yaml",
    "lexicon": "lexicon.yaml",
    "messages": "terminal_messages.yaml",
}


class _Named:
    """A knowledge item with a name in each language."""

    names: Mapping[str, str]

    def name(self, lang: str) -> str:
        """Return the name in `lang` (zh-CN or en)."""
        return self.names[normalize_lang(lang)]


@dataclass(frozen=True)
class Symptom(_Named):
    """A fault as the merchant reports it."""

    id: str
    names: Mapping[str, str]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Cause(_Named):
    """What is actually wrong; exactly one per case."""

    id: str
    category: str
    symptoms: tuple[str, ...]
    names: Mapping[str, str]


@dataclass(frozen=True)
class Check(_Named):
    """An observation that changes nothing; its first outcome is the normal one."""

    id: str
    by: StepBy
    cost: float
    telemetry: bool
    standing: bool
    outcomes: tuple[str, ...]
    names: Mapping[str, str]
    how: Mapping[str, str]
    outcome_labels: Mapping[str, Mapping[str, str]]

    def label(self, outcome: str, lang: str) -> str:
        """Return the label of `outcome` in `lang`."""
        return self.outcome_labels[outcome][normalize_lang(lang)]


@dataclass(frozen=True)
class Action(_Named):
    """A repair; it resolves the case exactly when the true cause is in `fixes`."""

    id: str
    by: StepBy
    cost: float
    fixes: frozenset[str]
    fixes_all: bool
    names: Mapping[str, str]
    how: Mapping[str, str]


@dataclass(frozen=True)
class ProbabilityTables:
    """The numbers inference uses; complete: every check has a distribution for every cause."""

    symptom_rates: Mapping[str, float]
    causes_given_symptom: Mapping[str, Mapping[str, float]]
    outcome_given_cause: Mapping[str, Mapping[str, Mapping[str, float]]]


@dataclass(frozen=True)
class Knowledge:
    """Everything the engine knows; `written` holds the files' tables, `tables` those in use."""

    symptoms: Mapping[str, Symptom]
    causes: Mapping[str, Cause]
    checks: Mapping[str, Check]
    actions: Mapping[str, Action]
    written: ProbabilityTables
    tables: ProbabilityTables
    off_symptom_mass: float
    lexicon: Lexicon
    source: Path
    overlay: Mapping[str, Any] | None = None

    def step_ids(self) -> set[str]:
        """Return the ids of all checks and actions."""
        return set(self.checks) | set(self.actions)

    def step(self, step_id: str) -> Check | Action | None:
        """Return the check or action `step_id`, or None for an unknown id."""
        return self.checks.get(step_id) or self.actions.get(step_id)

    def standing_cause(self, check: str, outcome: str) -> str | None:
        """The one cause a standing check's abnormal `outcome` records, or None.

        The outcome must single the cause out decisively (every other cause at least
        STANDING_RATIO times less likely to show it): a state two causes share, such as a risk
        hold that is also how a fraud freeze shows, does not say which hold to lift.
        """
        info = self.checks.get(check)
        if info is None or not info.standing or outcome == info.outcomes[0] or outcome not in info.outcomes:
            return None
        by_cause = self.tables.outcome_given_cause[check]
        cause = max(by_cause, key=lambda c: by_cause[c][outcome])
        runner_up = max(p[outcome] for c, p in by_cause.items() if c != cause)
        return cause if by_cause[cause][outcome] >= STANDING_RATIO * runner_up else None


def load_knowledge(path: Path | None = None, overlay: Mapping[str, Any] | None = None) -> Knowledge:
    """Load and validate the knowledge in directory `path` (default: the package's kb/).

    The default knowledge without an overlay is cached. An `overlay` (see learning.refit)
    replaces learned probabilities after validation.
    """
    knowledge = _load_default() if path is None else _load(Path(path))
    return knowledge if overlay is None else apply_overlay(knowledge, overlay)


@lru_cache(maxsize=1)
def _load_default() -> Knowledge:
    return _load(DEFAULT_DIR)


def _load(directory: Path) -> Knowledge:
    docs = {key: _read(directory, name) for key, name in FILES.items()}
    symptoms, causes, checks_raw, actions_raw = _taxonomy(docs["taxonomy"], FILES["taxonomy"])
    checks, actions = _guidance(docs["guidance"], FILES["guidance"], checks_raw, actions_raw)
    rates, priors, off_mass = _priors(docs["priors"], FILES["priors"], symptoms, causes)
    likelihoods = _likelihoods(docs["likelihoods"], FILES["likelihoods"], checks, causes)
    lexicon = parse_lexicon(
        docs["lexicon"],
        docs["messages"],
        symptoms=frozenset(symptoms),
        causes=frozenset(causes),
        checks={cid: c.outcomes for cid, c in checks.items()},
        lexicon_file=FILES["lexicon"],
        messages_file=FILES["messages"],
    )
    tables = ProbabilityTables(rates, priors, likelihoods)
    return Knowledge(
        symptoms=symptoms,
        causes=causes,
        checks=checks,
        actions=actions,
        written=tables,
        tables=tables,
        off_symptom_mass=off_mass,
        lexicon=lexicon,
        source=directory,
    )


def _read(directory: Path, name: str) -> Any:
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnowledgeError(name, "file", f"cannot read {path}: {exc.strerror}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KnowledgeError(name, "file", f"not valid YAML: {exc}") from exc


# --- taxonomy ------------------------------------------------------------------------------


def _taxonomy(
    doc: Any, file: str
) -> tuple[dict[str, Symptom], dict[str, Cause], list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    doc = mapping(doc, file, "document")
    symptoms: dict[str, Symptom] = {}
    for entry in _entries(doc, "symptoms", file):
        sid = entry["id"]
        examples = entry.get("examples", [])
        symptoms[sid] = Symptom(sid, _names(entry, file, f"symptom {sid}"), tuple(str(e) for e in examples))
    causes: dict[str, Cause] = {}
    for entry in _entries(doc, "causes", file):
        cid = entry["id"]
        where = f"cause {cid}"
        linked = as_list(entry.get("symptoms"), file, where)
        for sid in linked:
            if sid not in symptoms:
                raise KnowledgeError(file, where, f"unknown symptom {sid!r}")
        causes[cid] = Cause(cid, str(entry.get("category", "")), tuple(linked), _names(entry, file, where))
    checks = list(_entries(doc, "checks", file))
    for entry in checks:
        where = f"check {entry['id']}"
        _cost(entry, file, where)
        outcomes = [str(o) for o in as_list(entry.get("outcomes"), file, where)]
        if len(outcomes) < 2 or len(set(outcomes)) != len(outcomes):
            raise KnowledgeError(file, where, "needs two or more distinct outcomes")
        if StepOutcome.UNKNOWN in outcomes:
            raise KnowledgeError(file, where, f"'{StepOutcome.UNKNOWN}' is reserved for a check nobody could make")
        _names(entry, file, where)
    actions = list(_entries(doc, "actions", file))
    for entry in actions:
        where = f"action {entry['id']}"
        _cost(entry, file, where)
        for cause in as_list(entry.get("fixes"), file, where):
            if cause != WILDCARD and cause not in causes:
                raise KnowledgeError(file, where, f"fixes unknown cause {cause!r}")
        _names(entry, file, where)
    clash = {e["id"] for e in checks} & {e["id"] for e in actions}
    if clash:
        raise KnowledgeError(file, f"step {sorted(clash)[0]}", "is both a check and an action")
    return symptoms, causes, checks, actions


_TAXONOMY_KEYS = {
    "symptoms": {"id", "zh", "en", "examples"},
    "causes": {"id", "category", "symptoms", "zh", "en"},
    "checks": {"id", "by", "cost", "telemetry", "standing", "zh", "en", "outcomes"},
    "actions": {"id", "by", "cost", "fixes", "zh", "en"},
}


def _entries(doc: Mapping[str, Any], key: str, file: str) -> list[Mapping[str, Any]]:
    seen: set[str] = set()
    out = []
    for index, raw in enumerate(as_list(doc.get(key), file, key)):
        entry = mapping(raw, file, f"{key}[{index}]")
        eid = entry.get("id")
        if not isinstance(eid, str) or not eid:
            raise KnowledgeError(file, f"{key}[{index}]", "missing id")
        unexpected = sorted(str(k) for k in entry if k not in _TAXONOMY_KEYS[key])
        if unexpected:
            raise KnowledgeError(
                file, f"{key[:-1]} {eid}", f"unexpected key {unexpected[0]!r} (an unquoted comma in a name?)"
            )
        if eid in seen:
            raise KnowledgeError(file, f"{key} {eid}", "defined twice")
        seen.add(eid)
        out.append(entry)
    if not out:
        raise KnowledgeError(file, key, "no entries")
    return out


def _names(entry: Mapping[str, Any], file: str, where: str) -> dict[str, str]:
    names = {}
    for key, lang in (("zh", "zh-CN"), ("en", "en")):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise KnowledgeError(file, where, f"missing {key} name")
        names[lang] = value
    return names


def _cost(entry: Mapping[str, Any], file: str, where: str) -> float:
    return positive_number(entry.get("cost"), file, where, "cost")


# --- guidance ------------------------------------------------------------------------------


def _guidance(
    doc: Any, file: str, checks_raw: list[Mapping[str, Any]], actions_raw: list[Mapping[str, Any]]
) -> tuple[dict[str, Check], dict[str, Action]]:
    doc = mapping(doc, file, "document")
    check_docs = mapping(doc.get("checks"), file, "checks")
    action_docs = mapping(doc.get("actions"), file, "actions")
    for section, known in (("checks", {e["id"] for e in checks_raw}), ("actions", {e["id"] for e in actions_raw})):
        for sid in mapping(doc.get(section), file, section):
            if sid not in known:
                raise KnowledgeError(file, f"{section}.{sid}", "not in the taxonomy")
    checks: dict[str, Check] = {}
    for entry in checks_raw:
        cid = entry["id"]
        where = f"checks.{cid}"
        if cid not in check_docs:
            raise KnowledgeError(file, where, "missing guidance")
        guide = mapping(check_docs[cid], file, where)
        outcomes = tuple(str(o) for o in entry["outcomes"])
        labels_doc = mapping(guide.get("outcomes"), file, f"{where}.outcomes")
        labels: dict[str, dict[str, str]] = {}
        for outcome in outcomes:
            if outcome not in labels_doc:
                raise KnowledgeError(file, f"{where}.outcomes.{outcome}", "missing label")
            labels[outcome] = _texts(labels_doc[outcome], file, f"{where}.outcomes.{outcome}")
        for outcome in labels_doc:
            if str(outcome) not in outcomes:
                raise KnowledgeError(file, f"{where}.outcomes.{outcome}", "not an outcome of the check")
        checks[cid] = Check(
            id=cid,
            by=_performer(entry, "taxonomy.yaml", f"check {cid}"),
            cost=float(entry["cost"]),
            telemetry=bool(entry.get("telemetry", False)),
            standing=bool(entry.get("standing", False)),
            outcomes=outcomes,
            names=_names(entry, "taxonomy.yaml", f"check {cid}"),
            how=_texts(guide.get("how"), file, f"{where}.how"),
            outcome_labels=labels,
        )
    actions: dict[str, Action] = {}
    for entry in actions_raw:
        aid = entry["id"]
        where = f"actions.{aid}"
        if aid not in action_docs:
            raise KnowledgeError(file, where, "missing guidance")
        guide = mapping(action_docs[aid], file, where)
        fixes = [str(c) for c in entry["fixes"]]
        actions[aid] = Action(
            id=aid,
            by=_performer(entry, "taxonomy.yaml", f"action {aid}"),
            cost=float(entry["cost"]),
            fixes=frozenset(c for c in fixes if c != WILDCARD),
            fixes_all=WILDCARD in fixes,
            names=_names(entry, "taxonomy.yaml", f"action {aid}"),
            how=_texts(guide.get("how"), file, f"{where}.how"),
        )
    return checks, actions


def _performer(entry: Mapping[str, Any], file: str, where: str) -> StepBy:
    by = str(entry.get("by", ""))
    if by not in set(StepBy):
        raise KnowledgeError(file, f"{where}.by", f"must be one of {', '.join(StepBy)}, got {by!r}")
    return StepBy(by)


def _texts(raw: Any, file: str, where: str) -> dict[str, str]:
    entry = mapping(raw, file, where)
    texts = {}
    for lang in LANGUAGES:
        value = entry.get(lang)
        if not isinstance(value, str) or not value.strip():
            raise KnowledgeError(file, where, f"missing {lang} text")
        texts[lang] = value.strip()
    return texts


# --- probabilities -------------------------------------------------------------------------


def _priors(
    doc: Any, file: str, symptoms: Mapping[str, Symptom], causes: Mapping[str, Cause]
) -> tuple[dict[str, float], dict[str, dict[str, float]], float]:
    doc = mapping(doc, file, "document")
    off_mass = doc.get("off_symptom_mass")
    if not finite(off_mass) or not 0 <= off_mass < 0.5:
        raise KnowledgeError(file, "off_symptom_mass", f"must be a number in [0, 0.5), got {off_mass!r}")
    rates_doc = mapping(doc.get("symptoms"), file, "symptoms")
    for sid in rates_doc:
        if sid not in symptoms:
            raise KnowledgeError(file, f"symptoms.{sid}", "unknown symptom")
    rates = {}
    for sid in symptoms:
        if sid not in rates_doc:
            raise KnowledgeError(file, f"symptoms.{sid}", "missing base rate")
        rates[sid] = _probability(rates_doc[sid], file, f"symptoms.{sid}")
    _sums_to_one(rates, file, "symptoms")
    causes_doc = mapping(doc.get("causes"), file, "causes")
    priors: dict[str, dict[str, float]] = {}
    for sid in causes_doc:
        if sid not in symptoms:
            raise KnowledgeError(file, f"causes.{sid}", "unknown symptom")
    for sid in symptoms:
        where = f"causes.{sid}"
        if sid not in causes_doc:
            raise KnowledgeError(file, where, "missing the causes of this symptom")
        table = mapping(causes_doc[sid], file, where)
        dist = {}
        for cid, p in table.items():
            if cid not in causes:
                raise KnowledgeError(file, f"{where}.{cid}", "unknown cause")
            dist[str(cid)] = _probability(p, file, f"{where}.{cid}")
        for cause in causes.values():
            if sid in cause.symptoms and cause.id not in dist:
                raise KnowledgeError(file, f"{where}.{cause.id}", "the taxonomy links this cause; give its prior")
        _sums_to_one(dist, file, where)
        priors[sid] = dist
    return rates, priors, float(off_mass)


def _likelihoods(
    doc: Any, file: str, checks: Mapping[str, Check], causes: Mapping[str, Cause]
) -> dict[str, dict[str, dict[str, float]]]:
    doc = mapping(doc, file, "document")
    checks_doc = mapping(doc.get("checks"), file, "checks")
    for cid in checks_doc:
        if cid not in checks:
            raise KnowledgeError(file, f"checks.{cid}", "unknown check")
    tables: dict[str, dict[str, dict[str, float]]] = {}
    for cid, check in checks.items():
        where = f"checks.{cid}"
        if cid not in checks_doc:
            raise KnowledgeError(file, where, "missing likelihoods")
        entry = mapping(checks_doc[cid], file, where)
        default = _distribution(entry.get("default"), check.outcomes, file, f"{where}.default")
        per_cause = mapping(entry.get("causes", {}), file, f"{where}.causes")
        table = {}
        for cause in per_cause:
            if cause not in causes:
                raise KnowledgeError(file, f"{where}.causes.{cause}", "unknown cause")
        for cause in causes:
            if cause in per_cause:
                table[cause] = _distribution(per_cause[cause], check.outcomes, file, f"{where}.causes.{cause}")
            else:
                table[cause] = dict(default)
        tables[cid] = table
    return tables


def _distribution(raw: Any, outcomes: tuple[str, ...], file: str, where: str) -> dict[str, float]:
    entry = mapping(raw, file, where)
    named: dict[str, float] = {}
    rest = None
    for key, value in entry.items():
        key = str(key)
        if key == REST:
            rest = _probability(value, file, f"{where}.{REST}")
        elif key not in outcomes:
            raise KnowledgeError(file, f"{where}.{key}", "not an outcome of the check")
        else:
            named[key] = _probability(value, file, f"{where}.{key}")
    unnamed = [o for o in outcomes if o not in named]
    if unnamed and rest is None:
        raise KnowledgeError(file, where, f"missing outcome {unnamed[0]!r} (name it or give {REST})")
    if rest is not None and not unnamed:
        raise KnowledgeError(file, where, f"{REST} given but every outcome is named")
    dist = {o: named[o] if o in named else (rest or 0.0) / len(unnamed) for o in outcomes}
    _sums_to_one(dist, file, where)
    for outcome, p in dist.items():
        if p <= 0:
            raise KnowledgeError(file, f"{where}.{outcome}", "probability must be above zero")
    return dist


def _probability(value: Any, file: str, where: str) -> float:
    if not finite(value) or not 0 < value <= 1:
        raise KnowledgeError(file, where, f"probability must be in (0, 1], got {value!r}")
    return float(value)


def _sums_to_one(dist: Mapping[str, float], file: str, where: str) -> None:
    total = sum(dist.values())
    if abs(total - 1.0) > TOLERANCE:
        raise KnowledgeError(file, where, f"probabilities sum to {total:.4f}, not 1")


# --- overlay -------------------------------------------------------------------------------


def apply_overlay(knowledge: Knowledge, overlay: Mapping[str, Any]) -> Knowledge:
    """Return `knowledge` with the learned probabilities of `overlay` in place of the written ones.

    The overlay is validated like the files: unknown ids or distributions that do not sum
    to 1 raise KnowledgeError naming the overlay and the entry.
    """
    file = "overlay"
    doc = mapping(overlay, file, "document")
    if doc.get("format") != OVERLAY_FORMAT:
        raise KnowledgeError(file, "format", f"expected {OVERLAY_FORMAT!r}, got {doc.get('format')!r}")
    written = knowledge.written
    rates = dict(written.symptom_rates)
    rates_doc = mapping(doc.get("symptom_rates", {}), file, "symptom_rates")
    if rates_doc:
        for sid in rates_doc:
            if sid not in knowledge.symptoms:
                raise KnowledgeError(file, f"symptom_rates.{sid}", "unknown symptom")
        rates = {sid: _probability(rates_doc.get(sid), file, f"symptom_rates.{sid}") for sid in knowledge.symptoms}
        _sums_to_one(rates, file, "symptom_rates")
    priors = {sid: dict(dist) for sid, dist in written.causes_given_symptom.items()}
    for sid, dist in mapping(doc.get("priors", {}), file, "priors").items():
        where = f"priors.{sid}"
        if sid not in knowledge.symptoms:
            raise KnowledgeError(file, where, "unknown symptom")
        table = {}
        for cid, p in mapping(dist, file, where).items():
            if cid not in knowledge.causes:
                raise KnowledgeError(file, f"{where}.{cid}", "unknown cause")
            table[str(cid)] = _probability(p, file, f"{where}.{cid}")
        _sums_to_one(table, file, where)
        priors[str(sid)] = table
    likelihoods = {cid: {cause: dict(d) for cause, d in t.items()} for cid, t in written.outcome_given_cause.items()}
    for cid, per_cause in mapping(doc.get("likelihoods", {}), file, "likelihoods").items():
        if cid not in knowledge.checks:
            raise KnowledgeError(file, f"likelihoods.{cid}", "unknown check")
        for cause, dist in mapping(per_cause, file, f"likelihoods.{cid}").items():
            where = f"likelihoods.{cid}.{cause}"
            if cause not in knowledge.causes:
                raise KnowledgeError(file, where, "unknown cause")
            outcomes = knowledge.checks[cid].outcomes
            likelihoods[str(cid)][str(cause)] = _distribution(dist, outcomes, file, where)
    tables = ProbabilityTables(rates, priors, likelihoods)
    return replace(knowledge, tables=tables, overlay=dict(doc))
