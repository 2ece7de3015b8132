"""Reading a complaint: which symptom it describes, what it hints at, and what the screen showed.

    >>> from posops.diagnosis.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> reading = read_complaint(kb, "簽到一直失敗,提示97")
    >>> max(reading.symptoms, key=reading.symptoms.get)
    'sign_in'
    >>> reading.evidence["response_code"]
    {'97': 50.0}
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from posops.diagnosis.knowledge import Knowledge
from posops.diagnosis.lexicon import CODE_CHECK, Lexicon
from posops.diagnosis.matching import SEGMENT_BREAK, Match, Token, find_matches, tokenize
from posops.diagnosis.phrasing import phrasing_model
from posops.diagnosis.textnorm import is_ascii_word_char, normalize

_STRONG = frozenset("。.!?;！？；\n")
_WEAK = frozenset(",，、()（）[]【】<>《》~～|/")
_QUOTE_PAIRS = {"“": "”", "‘": "’", "「": "」", "『": "』", '"': '"'}
_QUOTE_MARKS = frozenset(_QUOTE_PAIRS) | frozenset(_QUOTE_PAIRS.values())
_NEGATION_PREFIX = ("不", "没", "无")
_LINKING_WORDS = frozenset({"is", "are", "was", "seem", "look", "still", "all", "now", "itself"})
_NEGATION_WINDOW = 6
_CODE = r"([0-9]{2}|[a-z][0-9])"
LEARNED_ALONE = 0.5
"""The learned reading counts on its own, when no lexicon word was recognised, only this sure of a symptom."""
LEARNED_FLOOR = 1e-4
_CODE_FILLER = r"(?:\s|[:=\"'“”]|了|个|为|是|号|的){0,4}"
_CODE_TRAILER = re.compile(
    r"(?:元|块|次|笔|个|%|分|秒|年|月|日|号|台|张|\s?(?:times?|yuan|rmb|mins?|minutes?|hours?|days?|cards?|customers?)\b)"
)  # a number counting something ("失败10次", "failed 10 times") is not a response code


@dataclass(frozen=True)
class TextReading:
    """What the words of a complaint say, ready for inference.

    symptoms       P(symptom | words), summing to 1
    cause_factors  likelihood ratios the words give causes (only those different from 1)
    evidence       soft evidence: check -> outcome -> likelihood ratio of the words
    concepts       ids of the concepts recognised, in order of appearance
    phrases        the words recognised, as written (after normalisation)
    codes          response codes written in the words, as written
    """

    symptoms: Mapping[str, float]
    cause_factors: Mapping[str, float] = field(default_factory=dict)
    evidence: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    concepts: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()

    @property
    def understood(self) -> bool:
        """Tell whether any concept or code was recognised."""
        return bool(self.concepts or self.codes)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form."""
        return {
            "symptoms": dict(self.symptoms),
            "cause_factors": dict(self.cause_factors),
            "evidence": {check: dict(outcomes) for check, outcomes in self.evidence.items()},
            "concepts": list(self.concepts),
            "phrases": list(self.phrases),
            "codes": list(self.codes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextReading:
        """Rebuild a reading from `to_dict` output."""
        return cls(
            symptoms={str(k): float(v) for k, v in data["symptoms"].items()},
            cause_factors={str(k): float(v) for k, v in data.get("cause_factors", {}).items()},
            evidence={
                str(c): {str(o): float(r) for o, r in outs.items()} for c, outs in data.get("evidence", {}).items()
            },
            concepts=tuple(str(c) for c in data.get("concepts", ())),
            phrases=tuple(str(p) for p in data.get("phrases", ())),
            codes=tuple(str(c) for c in data.get("codes", ())),
        )


@dataclass
class _Prepared:
    text: str
    plain: str  # the same characters before homophone folding, for showing what was recognised
    clause: list[int]
    sentence: list[int]
    quoted: list[bool]
    tokens: list[Token]


def read_complaint(knowledge: Knowledge, text: str) -> TextReading:
    """Read a merchant's complaint (any mix of Simplified, Traditional Chinese and English)."""
    lexicon = knowledge.lexicon
    prepared = _prepare(lexicon, text or "")
    _mark_quoted(lexicon, prepared)
    found = find_matches(lexicon, prepared.text, prepared.tokens)
    denied = [m for m in found if _denied(lexicon, prepared, m)]
    matches = [m for m in found if m not in denied]
    scores, causes, evidence = _score(lexicon, prepared, matches)
    codes = _written_codes(lexicon, prepared.text)
    for code in codes:
        outcome = lexicon.code_aliases.get(code, code.upper() if code[0].isalpha() else code)
        if outcome in knowledge.checks[CODE_CHECK].outcomes:
            _add_evidence(evidence, CODE_CHECK, outcome, lexicon.scoring.quoted_code_ratio)
    rates = knowledge.tables.symptom_rates
    top = max(scores.values(), default=0.0)
    weights = {s: rates[s] * math.exp(scores.get(s, 0.0) - top) for s in rates}
    said = _without(prepared, denied)  # the learned reader knows no negation: denied words are not shown to it
    learned = phrasing_model(knowledge).symptom_probabilities(said) if said.strip() else {}
    heard = bool(scores) or max(learned.values(), default=0.0) >= LEARNED_ALONE
    if learned and heard:
        power = lexicon.scoring.phrasing_weight
        weights = {s: w * max(learned.get(s, 0.0), LEARNED_FLOOR) ** power for s, w in weights.items()}
    total = sum(weights.values())
    doubt = lexicon.scoring.symptom_doubt if heard else 0.0  # words that say nothing leave the rates as they are
    concepts = tuple(dict.fromkeys(m.concept for m in matches))
    phrases = tuple(dict.fromkeys(prepared.plain[m.start : m.end] for m in matches))
    return TextReading(
        symptoms={s: (1 - doubt) * w / total + doubt * rates[s] for s, w in weights.items()},
        cause_factors=causes,
        evidence=evidence,
        concepts=concepts,
        phrases=phrases,
        codes=tuple(codes),
    )


def _without(prepared: _Prepared, spans: list[Match]) -> str:
    """The complaint as written, minus the given matches and with segment breaks as spaces."""
    hidden = {i for m in spans for i in range(m.start, m.end)}
    return "".join(" " if i in hidden or c == SEGMENT_BREAK else c for i, c in enumerate(prepared.plain))


def _prepare(lexicon: Lexicon, raw: str) -> _Prepared:
    """Fold the text and split it into segments, clauses and sentences, remembering quotes."""
    plain_source = normalize(raw)
    source = plain_source.translate(lexicon.fold)
    chars: list[str] = []
    plain: list[str] = []
    clause: list[int] = []
    sentence: list[int] = []
    quoted: list[bool] = []
    clause_no = sentence_no = 0
    closing: str | None = None

    def brk(strong: bool) -> None:
        nonlocal clause_no, sentence_no
        if chars and chars[-1] != SEGMENT_BREAK:
            chars.append(SEGMENT_BREAK)
            plain.append(SEGMENT_BREAK)
            clause.append(clause_no)
            sentence.append(sentence_no)
            quoted.append(False)
        clause_no += 1
        if strong:
            sentence_no += 1

    def keep_words_apart(i: int) -> bool:
        """Keep one space where a space or quote mark at `i` stands between two English words."""
        before = chars[-1] if chars else ""
        after = _next_unquoted(source, i + 1)
        if not (before and after and is_ascii_word_char(before) and is_ascii_word_char(after)):
            return False
        chars.append(" ")
        plain.append(" ")
        clause.append(clause_no)
        sentence.append(sentence_no)
        quoted.append(closing is not None)
        return True

    for i, char in enumerate(source):
        if closing is not None and char == closing:
            closing = None
            keep_words_apart(i)
            continue
        if closing is None and char in _QUOTE_PAIRS:
            closing = _QUOTE_PAIRS[char]
            keep_words_apart(i)
            continue
        if char in _STRONG and not (char == "." and i + 1 < len(source) and source[i + 1].isalnum()):
            brk(strong=True)
            continue
        if char in _WEAK:
            brk(strong=False)
            continue
        if char.isspace():
            if not keep_words_apart(i):
                clause_no += 1  # a space between Chinese words separates clauses, not terms
            continue
        chars.append(char)
        plain.append(plain_source[i])
        clause.append(clause_no)
        sentence.append(sentence_no)
        quoted.append(closing is not None)
    text = "".join(chars)
    return _Prepared(text, "".join(plain), clause, sentence, quoted, tokenize(text))


def _next_unquoted(source: str, start: int) -> str:
    """The first character from `start` that is not a quote mark ("" at the end)."""
    for char in source[start:]:
        if char not in _QUOTE_MARKS:
            return char
    return ""


def _mark_quoted(lexicon: Lexicon, prepared: _Prepared) -> None:
    """Mark the words after a marker ("提示", "显示", "shows") as quoted from the screen."""
    text = prepared.text
    ends: list[int] = []
    taken: list[tuple[int, int]] = []
    for marker in lexicon.markers_cjk:
        start = text.find(marker)
        while start >= 0:
            end = start + len(marker)
            if not any(start < b and a < end for a, b in taken) and _valid_marker(text, marker, start, end):
                taken.append((start, end))
                ends.append(end)
            start = text.find(marker, start + 1)
    stems = [t.stem for t in prepared.tokens]
    for marker_tokens in lexicon.markers_en:
        n = len(marker_tokens)
        for i in range(len(stems) - n + 1):
            if tuple(stems[i : i + n]) == marker_tokens:
                ends.append(prepared.tokens[i + n - 1].end)
    for end in ends:
        if end >= len(text):
            continue
        clause = prepared.clause[end]
        if text[end] == SEGMENT_BREAK or prepared.clause[end - 1] != clause:
            continue
        for i in range(end, len(text)):
            if text[i] == SEGMENT_BREAK or prepared.clause[i] != clause:
                break
            prepared.quoted[i] = True


def _valid_marker(text: str, marker: str, start: int, end: int) -> bool:
    before = text[max(0, start - 2) : start]
    if before.endswith(_NEGATION_PREFIX) or before.endswith("没有"):
        return False
    follower = text[end : end + 1]
    if marker.endswith("示") and follower == "屏":
        return False
    return not (marker == "报" and follower and follower in "警告名表价销废案")


def _denied(lexicon: Lexicon, prepared: _Prepared, match: Match) -> bool:
    """Tell whether a negatable concept is denied ("不是网络问题", "wifi is fine")."""
    if not lexicon.concepts[match.concept].negatable:
        return False
    text = prepared.text
    before = text[max(0, match.start - _NEGATION_WINDOW) : match.start].rsplit(SEGMENT_BREAK, 1)[-1]
    after = text[match.end : match.end + _NEGATION_WINDOW].split(SEGMENT_BREAK, 1)[0]
    if any(word in before for word in lexicon.negation_before_cjk):
        return True
    for word in lexicon.negation_after_cjk:
        at = after.find(word)
        if at >= 0 and not after[:at].endswith(_NEGATION_PREFIX):
            return True
    tokens = prepared.tokens
    index_before = [i for i, t in enumerate(tokens) if t.end <= match.start]
    index_after = [i for i, t in enumerate(tokens) if t.start >= match.end]
    near_before = tuple(t.stem for t in tokens[index_before[-3]:index_before[-1] + 1]) if len(index_before) >= 3 else \
        tuple(tokens[i].stem for i in index_before)
    near_after = tuple(tokens[i].stem for i in index_after[:4])
    if any(_contains(near_before, words) for words in lexicon.negation_before_en):
        return True
    if near_after and near_after[0] in _LINKING_WORDS:
        near_after = near_after[1:]
    return any(near_after[: len(words)] == words for words in lexicon.negation_after_en)


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _score(
    lexicon: Lexicon, prepared: _Prepared, matches: list[Match]
) -> tuple[dict[str, float], dict[str, float], dict[str, dict[str, float]]]:
    """Add up symptom weights, cause factors and soft evidence of the matched concepts."""
    scoring = lexicon.scoring
    by_span: dict[tuple[int, int], list[Match]] = defaultdict(list)
    for match in matches:
        by_span[(match.start, match.end)].append(match)
    own: dict[str, float] = defaultdict(float)  # the complaint in its own words
    quoted_words: dict[str, float] = defaultdict(float)  # words quoted from the screen
    log_causes: dict[str, float] = defaultdict(float)
    evidence: dict[str, dict[str, float]] = {}
    counted: set[str] = set()
    first_clause: int | None = None
    for span in sorted(by_span):
        fresh = [m for m in by_span[span] if m.concept not in counted]
        counted |= {m.concept for m in fresh}
        quoted = prepared.quoted[span[0]]
        clause = prepared.clause[span[0]]
        if first_clause is None and any(lexicon.concepts[m.concept].symptoms for m in fresh):
            first_clause = clause
        position = 1.0 if first_clause is None or clause == first_clause else scoring.later_clause_factor
        concepts = [
            (lexicon.concepts[m.concept], position * (scoring.fuzzy_factor if m.fuzzy else 1.0)) for m in fresh
        ]
        target = quoted_words if quoted else own
        for symptom in {s for c, _ in concepts for s in c.symptoms}:
            target[symptom] += max(c.symptoms.get(symptom, 0.0) * f for c, f in concepts)
        for cause in {k for c, _ in concepts for k in c.causes}:
            logs = [math.log(c.causes[cause]) * f for c, f in concepts if cause in c.causes]
            log_causes[cause] += max(logs, key=abs)
        for concept, _ in concepts:
            for check, outcome in concept.evidence.items():
                _add_evidence(evidence, check, outcome, scoring.stated_evidence_ratio)
            if concept.message is not None:
                is_code = concept.message[0] == CODE_CHECK
                strong = scoring.quoted_code_ratio if is_code else scoring.quoted_evidence_ratio
                ratio = strong if quoted else scoring.stated_message_ratio
                _add_evidence(evidence, concept.message[0], concept.message[1], ratio)
    by_sentence: dict[int, set[str]] = defaultdict(set)
    for match in matches:
        by_sentence[prepared.sentence[match.start]].add(match.concept)
    for rule in lexicon.rules:
        if any(set(rule.concepts) <= found for found in by_sentence.values()):
            for symptom, weight in rule.symptoms.items():
                own[symptom] += weight
            for cause, factor in rule.causes.items():
                log_causes[cause] += math.log(factor)
            for check, outcome in rule.evidence.items():
                _add_evidence(evidence, check, outcome, scoring.stated_evidence_ratio)
    quoted_factor = scoring.quoted_symptom_factor if any(v > 0 for v in own.values()) else 1.0
    symptoms = {
        s: scoring.symptom_weight_scale * (own.get(s, 0.0) + quoted_factor * quoted_words.get(s, 0.0))
        for s in set(own) | set(quoted_words)
    }
    limit = math.log(scoring.max_cause_factor)
    causes = {c: math.exp(max(-limit, min(limit, v))) for c, v in log_causes.items() if abs(v) > 1e-9}
    return symptoms, causes, evidence


def _add_evidence(evidence: dict[str, dict[str, float]], check: str, outcome: str, ratio: float) -> None:
    outcomes = evidence.setdefault(check, {})
    outcomes[outcome] = max(ratio, outcomes.get(outcome, 1.0))


def _written_codes(lexicon: Lexicon, text: str) -> list[str]:
    """Find response codes written as digits after a marker ("返回码96", "code 05", "A0")."""
    pattern = lexicon.cache.get("code_pattern")
    if pattern is None:
        markers = [re.escape(m) for m in lexicon.code_markers_cjk]
        markers += [rf"(?<![a-z]){re.escape(m)}" for m in lexicon.code_markers_en]
        pattern = re.compile(rf"(?:{'|'.join(markers)}){_CODE_FILLER}{_CODE}(?![0-9a-z])")
        lexicon.cache["code_pattern"] = pattern
    found: list[str] = []
    for m in pattern.finditer(text):
        code = m.group(1)
        if code in lexicon.known_codes and not _CODE_TRAILER.match(text, m.end()):
            found.append(code)
    for m in re.finditer(r"(?<![0-9a-z])(a0)(?![0-9a-z])", text):
        found.append(m.group(1))
    for m in re.finditer(r"(?<![0-9a-z.])([0-9]{2})\s?(?:错误|错|error|err)", text):
        if m.group(1) in lexicon.known_codes:
            found.append(m.group(1))
    return list(dict.fromkeys(found))
