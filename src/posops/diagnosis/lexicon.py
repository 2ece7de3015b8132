"""The complaint lexicon: concepts, their terms in Chinese and English, and co-occurrence rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from posops.diagnosis.errors import KnowledgeError
from posops.diagnosis.textnorm import fold_table, normalize, stem
from posops.diagnosis.yamlcheck import as_list, finite, mapping, positive_number

GAP = "…"
GAP_CHARS = 4
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+")

SCREEN_CHECK = "screen_notice"
CODE_CHECK = "response_code"


@dataclass(frozen=True)
class Scoring:
    """How strongly matched words count (see lexicon.yaml `scoring`)."""

    symptom_weight_scale: float
    quoted_symptom_factor: float
    later_clause_factor: float
    fuzzy_factor: float
    stated_evidence_ratio: float
    quoted_evidence_ratio: float
    quoted_code_ratio: float
    stated_message_ratio: float
    max_cause_factor: float
    symptom_doubt: float
    phrasing_weight: float
    """Exponent of the learned reading's symptom probabilities when they temper the rules' (see phrasing.py)."""
    """Share of the symptom reading kept at the base rates, so that no symptom (and cause) is out of reach."""


@dataclass(frozen=True)
class Concept:
    """One meaning people express in many words, and what it suggests."""

    id: str
    symptoms: Mapping[str, float]
    causes: Mapping[str, float]
    evidence: Mapping[str, str]
    message: tuple[str, str] | None = None
    negatable: bool = False


@dataclass(frozen=True)
class Term:
    """One way of writing a concept, prepared for matching."""

    concept: str
    text: str
    kind: str  # "cjk" (substring), "gapped" (regex with gaps) or "english" (token sequence)
    tokens: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Rule:
    """Extra evidence when all `concepts` occur in one sentence."""

    concepts: tuple[str, ...]
    symptoms: Mapping[str, float]
    causes: Mapping[str, float]
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lexicon:
    """Everything the complaint reader needs, validated and prepared."""

    concepts: Mapping[str, Concept]
    terms: tuple[Term, ...]
    rules: tuple[Rule, ...]
    fold: Mapping[int, str]
    scoring: Scoring
    markers_cjk: tuple[str, ...]
    markers_en: tuple[tuple[str, ...], ...]
    negation_before_cjk: tuple[str, ...]
    negation_before_en: tuple[tuple[str, ...], ...]
    negation_after_cjk: tuple[str, ...]
    negation_after_en: tuple[tuple[str, ...], ...]
    code_markers_cjk: tuple[str, ...]
    code_markers_en: tuple[str, ...]
    code_aliases: Mapping[str, str]
    known_codes: frozenset[str]
    english_vocabulary: frozenset[str] = field(default_factory=frozenset)
    english_common: frozenset[str] = field(default_factory=frozenset)
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def prepare(self, text: str) -> str:
        """Normalise and fold `text` the way terms were prepared."""
        return normalize(text).translate(self.fold)


@dataclass(frozen=True)
class _Ids:
    symptoms: frozenset[str]
    causes: frozenset[str]
    checks: Mapping[str, tuple[str, ...]]


def parse_lexicon(
    lexicon_doc: Any,
    messages_doc: Any,
    *,
    symptoms: frozenset[str],
    causes: frozenset[str],
    checks: Mapping[str, tuple[str, ...]],
    lexicon_file: str = "lexicon.yaml",
    messages_file: str = "terminal_messages.yaml",
) -> Lexicon:
    """Validate the lexicon and terminal-message documents and prepare them for matching."""
    ids = _Ids(symptoms, causes, checks)
    doc = mapping(lexicon_doc, lexicon_file, "document")
    msgs = mapping(messages_doc, messages_file, "document")
    fold = fold_table(_homophones(doc.get("homophones", []), lexicon_file))
    scoring = _scoring(doc.get("scoring"), lexicon_file)

    concepts: dict[str, Concept] = {}
    terms: list[Term] = []
    for index, raw in enumerate(as_list(doc.get("concepts"), lexicon_file, "concepts")):
        entry = mapping(raw, lexicon_file, f"concepts[{index}]")
        cid = entry.get("id")
        if not isinstance(cid, str) or not cid:
            raise KnowledgeError(lexicon_file, f"concepts[{index}]", "missing id")
        where = f"concept {cid}"
        if cid in concepts:
            raise KnowledgeError(lexicon_file, where, "defined twice")
        concept = Concept(
            id=cid,
            symptoms=_symptom_weights(entry.get("symptoms", {}), ids, lexicon_file, where),
            causes=_cause_factors(entry.get("causes", {}), ids, lexicon_file, where),
            evidence=_evidence(entry.get("evidence", {}), ids, lexicon_file, where),
            negatable=bool(entry.get("negatable", False)),
        )
        concepts[cid] = concept
        terms += _terms(entry, cid, fold, lexicon_file, where)

    notices = mapping(msgs.get("screen_notices"), messages_file, "screen_notices")
    for outcome, raw in notices.items():
        where = f"screen_notices.{outcome}"
        if outcome not in checks.get(SCREEN_CHECK, ()):
            raise KnowledgeError(messages_file, where, f"unknown {SCREEN_CHECK} outcome {outcome!r}")
        terms += _message_concept(raw, SCREEN_CHECK, str(outcome), concepts, ids, fold, messages_file, where)

    codes = mapping(msgs.get("response_codes"), messages_file, "response_codes")
    code_outcomes = checks.get(CODE_CHECK, ())
    phrases = mapping(codes.get("phrases"), messages_file, "response_codes.phrases")
    for code, raw in phrases.items():
        where = f"response_codes.phrases.{code}"
        if str(code) not in code_outcomes:
            raise KnowledgeError(messages_file, where, f"unknown {CODE_CHECK} outcome {code!r}")
        terms += _message_concept(raw, CODE_CHECK, str(code), concepts, ids, fold, messages_file, where)
    aliases: dict[str, str] = {}
    for code, target in mapping(codes.get("aliases", {}), messages_file, "response_codes.aliases").items():
        if str(target) not in code_outcomes:
            raise KnowledgeError(messages_file, f"response_codes.aliases.{code}", f"unknown outcome {target!r}")
        aliases[str(code).lower()] = str(target)
    other = {str(c).lower() for c in as_list(codes.get("known_other", []), messages_file, "response_codes.known_other")}
    known = frozenset({o.lower() for o in code_outcomes if o not in ("none", "timeout")} | set(aliases) | other)
    code_markers = _languages(codes.get("markers"), messages_file, "response_codes.markers")

    rules: list[Rule] = []
    for index, raw in enumerate(as_list(doc.get("rules", []), lexicon_file, "rules")):
        where = f"rules[{index}]"
        entry = mapping(raw, lexicon_file, where)
        members = tuple(as_list(entry.get("all"), lexicon_file, f"{where}.all"))
        if len(members) < 2:
            raise KnowledgeError(lexicon_file, where, "a rule needs at least two concepts")
        for member in members:
            if member not in concepts:
                raise KnowledgeError(lexicon_file, where, f"unknown concept {member!r}")
        rules.append(Rule(
            concepts=tuple(str(m) for m in members),
            symptoms=_symptom_weights(entry.get("symptoms", {}), ids, lexicon_file, where),
            causes=_cause_factors(entry.get("causes", {}), ids, lexicon_file, where),
            evidence=_evidence(entry.get("evidence", {}), ids, lexicon_file, where),
        ))

    markers = _languages(doc.get("markers"), lexicon_file, "markers")
    negation = mapping(doc.get("negation"), lexicon_file, "negation")
    before = _languages(negation.get("before"), lexicon_file, "negation.before")
    after = _languages(negation.get("after"), lexicon_file, "negation.after")

    def cjk(words: list[str]) -> tuple[str, ...]:
        return tuple(sorted({normalize(w).translate(fold) for w in words}, key=len, reverse=True))

    def english(words: list[str]) -> tuple[tuple[str, ...], ...]:
        return tuple(sorted({_tokens(w) for w in words if _tokens(w)}, key=len, reverse=True))

    vocabulary = frozenset(tok for t in terms if t.kind == "english" for tok in t.tokens)
    return Lexicon(
        concepts=concepts,
        terms=tuple(terms),
        rules=tuple(rules),
        fold=fold,
        scoring=scoring,
        markers_cjk=cjk(markers["zh"]),
        markers_en=english(markers["en"]),
        negation_before_cjk=cjk(before["zh"]),
        negation_before_en=english(before["en"]),
        negation_after_cjk=cjk(after["zh"]),
        negation_after_en=english(after["en"]),
        code_markers_cjk=cjk(code_markers["zh"]),
        code_markers_en=tuple(sorted({normalize(w) for w in code_markers["en"]}, key=len, reverse=True)),
        code_aliases=aliases,
        known_codes=known,
        english_vocabulary=vocabulary,
        english_common=frozenset(
            normalize(w) for w in as_list(doc.get("english_common_words", []), lexicon_file, "english_common_words")
        ),
    )


def _message_concept(
    raw: Any,
    check: str,
    outcome: str,
    concepts: dict[str, Concept],
    ids: _Ids,
    fold: Mapping[int, str],
    file: str,
    where: str,
) -> list[Term]:
    entry = mapping(raw, file, where)
    cid = f"{check}:{outcome}"
    concepts[cid] = Concept(
        id=cid,
        symptoms=_symptom_weights(entry.get("symptoms", {}), ids, file, where),
        causes=_cause_factors(entry.get("causes", {}), ids, file, where),
        evidence={},
        message=(check, outcome),
    )
    return _terms(entry, cid, fold, file, where)


def _terms(entry: Mapping[str, Any], cid: str, fold: Mapping[int, str], file: str, where: str) -> list[Term]:
    terms: list[Term] = []
    for lang in ("zh", "en"):
        words = entry.get(lang)
        if not isinstance(words, list) or not words:
            raise KnowledgeError(file, where, f"missing {lang} terms")
        for word in words:
            if not isinstance(word, str | int) or not str(word).strip():
                raise KnowledgeError(file, where, f"empty or malformed {lang} term {word!r}")
            terms.append(_term(str(word), cid, fold, file, where))
    return terms


def _term(word: str, cid: str, fold: Mapping[int, str], file: str, where: str) -> Term:
    text = normalize(word).translate(fold)
    if GAP in word:
        parts = [normalize(p).translate(fold).replace(" ", "") for p in word.split(GAP)]
        if len(parts) < 2 or not all(parts):
            raise KnowledgeError(file, where, f"malformed gapped term {word!r}")
        pattern = re.compile(f"[^\\n]{{0,{GAP_CHARS}}}".join(re.escape(p) for p in parts))
        return Term(concept=cid, text=GAP.join(parts), kind="gapped", pattern=pattern)
    if _CJK.search(text):
        return Term(concept=cid, text=text.replace(" ", ""), kind="cjk")
    tokens = _tokens(text)
    if not tokens:
        raise KnowledgeError(file, where, f"term {word!r} has no letters or digits")
    return Term(concept=cid, text=text, kind="english", tokens=tokens)


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(stem(t) for t in _WORD.findall(normalize(text)))


def _homophones(raw: Any, file: str) -> list[str]:
    groups = as_list(raw, file, "homophones")
    seen: set[str] = set()
    for group in groups:
        if not isinstance(group, str) or len(group) < 2:
            raise KnowledgeError(file, "homophones", f"group {group!r} needs two or more characters")
        if seen & set(group):
            raise KnowledgeError(file, "homophones", f"group {group!r} repeats a character of another group")
        seen |= set(group)
    return [str(g) for g in groups]


def _scoring(raw: Any, file: str) -> Scoring:
    entry = mapping(raw, file, "scoring")
    values: dict[str, float] = {}
    for name in Scoring.__dataclass_fields__:
        value = entry.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise KnowledgeError(file, f"scoring.{name}", f"must be a positive number, got {value!r}")
        values[name] = float(value)
    return Scoring(**values)


def _symptom_weights(raw: Any, ids: _Ids, file: str, where: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for symptom, weight in mapping(raw, file, f"{where}.symptoms").items():
        if symptom not in ids.symptoms:
            raise KnowledgeError(file, where, f"unknown symptom {symptom!r}")
        if not finite(weight):
            raise KnowledgeError(file, where, f"weight of {symptom} must be a number, got {weight!r}")
        weights[str(symptom)] = float(weight)
    return weights


def _cause_factors(raw: Any, ids: _Ids, file: str, where: str) -> dict[str, float]:
    factors: dict[str, float] = {}
    for cause, factor in mapping(raw, file, f"{where}.causes").items():
        if cause not in ids.causes:
            raise KnowledgeError(file, where, f"unknown cause {cause!r}")
        factors[str(cause)] = positive_number(factor, file, where, f"factor of {cause}")
    return factors


def _evidence(raw: Any, ids: _Ids, file: str, where: str) -> dict[str, str]:
    evidence: dict[str, str] = {}
    for check, outcome in mapping(raw, file, f"{where}.evidence").items():
        if check not in ids.checks:
            raise KnowledgeError(file, where, f"unknown check {check!r}")
        if str(outcome) not in ids.checks[check]:
            raise KnowledgeError(file, where, f"check {check} has no outcome {outcome!r}")
        evidence[str(check)] = str(outcome)
    return evidence


def _languages(raw: Any, file: str, where: str) -> dict[str, list[str]]:
    entry = mapping(raw, file, where)
    out: dict[str, list[str]] = {}
    for lang in ("zh", "en"):
        words = entry.get(lang)
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            raise KnowledgeError(file, where, f"missing or malformed {lang} list")
        out[lang] = words
    return out
