"""Finding lexicon terms in a prepared complaint: exact, gapped, homophone-folded and fuzzy matches."""

from __future__ import annotations

import re
from dataclasses import dataclass

from posops.diagnosis.lexicon import Lexicon, Term
from posops.diagnosis.textnorm import is_ascii_word_char, stem, within_edits

SEGMENT_BREAK = "\n"
_WORD = re.compile(r"[a-z0-9]+")
_NEGATION_CHARS = frozenset("不没无未非")
_FUZZY_CJK_MIN = 5
_FUZZY_CJK_SHORT = 4
_FUZZY_EN_MIN = 5
_FUZZY_EN_TWO_EDITS = 8
_MAX_TOKEN_GAP = 2


@dataclass(frozen=True)
class Token:
    """An English word (or number) of the complaint, with its position."""

    stem: str
    start: int
    end: int


@dataclass(frozen=True)
class Match:
    """A concept found in the complaint at [start, end)."""

    concept: str
    start: int
    end: int
    fuzzy: bool


def tokenize(text: str) -> list[Token]:
    """Return the English words and numbers of a prepared text, stemmed."""
    return [Token(stem(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def find_matches(lexicon: Lexicon, text: str, tokens: list[Token]) -> list[Match]:
    """Find every concept of `lexicon` in the prepared `text`, longest and exact matches first.

    Overlapping matches are resolved greedily: exact before fuzzy, longer before shorter.
    Matches of different concepts over exactly the same span are all kept, so a screen
    message and the complaint concept written the same way both count.
    """
    candidates: list[Match] = []
    found_terms: set[int] = set()
    for index, term in enumerate(lexicon.terms):
        if term.kind == "cjk":
            for start in _find_all(text, term.text):
                candidates.append(Match(term.concept, start, start + len(term.text), False))
                found_terms.add(index)
        elif term.kind == "gapped" and term.pattern is not None:
            for m in term.pattern.finditer(text):
                candidates.append(Match(term.concept, m.start(), m.end(), False))
                found_terms.add(index)
    candidates += _english_matches(lexicon, text, tokens)
    candidates += _fuzzy_cjk_matches(lexicon, text, found_terms)
    return _resolve(candidates)


def _find_all(text: str, needle: str) -> list[int]:
    starts = []
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        before_ok = start == 0 or not (is_ascii_word_char(needle[0]) and is_ascii_word_char(text[start - 1]))
        after_ok = end >= len(text) or not (is_ascii_word_char(needle[-1]) and is_ascii_word_char(text[end]))
        if before_ok and after_ok:
            starts.append(start)
        start = text.find(needle, start + 1)
    return starts


def _english_matches(lexicon: Lexicon, text: str, tokens: list[Token]) -> list[Match]:
    if not tokens:
        return []
    similar = [_similar_words(lexicon, t.stem) for t in tokens]
    out = []
    for term in lexicon.terms:
        if term.kind != "english":
            continue
        first = term.tokens[0]
        for i, candidates in enumerate(similar):
            if first not in candidates:
                continue
            fuzzy = candidates[first]
            end_index = i
            ok = True
            for wanted in term.tokens[1:]:
                step = None
                for j in range(end_index + 1, min(end_index + 2 + _MAX_TOKEN_GAP, len(tokens))):
                    if SEGMENT_BREAK in text[tokens[end_index].end : tokens[j].start]:
                        break
                    if wanted in similar[j]:
                        step = j
                        break
                if step is None:
                    ok = False
                    break
                fuzzy = fuzzy or similar[step][wanted]
                end_index = step
            if ok:
                out.append(Match(term.concept, tokens[i].start, tokens[end_index].end, fuzzy))
    return out


def _similar_words(lexicon: Lexicon, word: str) -> dict[str, bool]:
    """Map lexicon words that `word` may stand for to whether the match is fuzzy."""
    cache: dict[str, dict[str, bool]] = lexicon.cache.setdefault("similar", {})
    if word in cache:
        return cache[word]
    result = {word: False}
    if word in lexicon.english_vocabulary or word in lexicon.english_common:
        pass
    elif len(word) >= _FUZZY_EN_MIN:
        limit = 2 if len(word) >= _FUZZY_EN_TWO_EDITS else 1
        for known in lexicon.english_vocabulary:
            close = abs(len(known) - len(word)) <= limit
            if len(known) >= _FUZZY_EN_MIN and close and within_edits(word, known, limit):
                result[known] = True
    elif len(word) == _FUZZY_EN_MIN - 1:
        # short words: only two swapped letters ("sing" for "sign"), the commonest typing slip
        for known in lexicon.english_vocabulary:
            if len(known) == len(word) and _swapped(word, known):
                result[known] = True
    if len(cache) < 50_000:
        cache[word] = result
    return result


def _swapped(a: str, b: str) -> bool:
    """Tell whether `b` is `a` with two adjacent letters swapped."""
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def _fuzzy_cjk_matches(lexicon: Lexicon, text: str, found_terms: set[int]) -> list[Match]:
    positions: dict[str, list[int]] = {}
    for i, char in enumerate(text):
        positions.setdefault(char, []).append(i)
    out = []
    for index, term in enumerate(lexicon.terms):
        if term.kind != "cjk" or index in found_terms or len(term.text) < _FUZZY_CJK_SHORT:
            continue
        if any(is_ascii_word_char(c) for c in term.text):
            continue
        if sum(1 for c in term.text if c in positions) < len(term.text) - 1:
            continue
        out += _fuzzy_windows(term, text, positions)
    return out


def _fuzzy_windows(term: Term, text: str, positions: dict[str, list[int]]) -> list[Match]:
    """Windows of `text` one edit away from the term, anchored on its first or last characters."""
    size = len(term.text)
    negations = sorted(c for c in term.text if c in _NEGATION_CHARS)
    out = []
    for width in (size, size - 1, size + 1):
        starts: set[int] = set()
        for char in term.text[:2]:
            for i in positions.get(char, ()):
                starts.update((i, i - 1))
        for char in term.text[-2:]:
            for i in positions.get(char, ()):
                starts.update((i - width + 1, i - width + 2))
        for start in sorted(starts):
            if start < 0 or start + width > len(text):
                continue
            window = text[start : start + width]
            if SEGMENT_BREAK in window:
                continue
            if sorted(c for c in window if c in _NEGATION_CHARS) != negations:
                continue
            if size < _FUZZY_CJK_MIN and (width != size or window[:2] != term.text[:2]):
                continue  # a short word may only have its ending mistyped ("读卡失贝")
            if within_edits(window, term.text, 1):
                out.append(Match(term.concept, start, start + width, True))
    return out


def _resolve(candidates: list[Match]) -> list[Match]:
    candidates = sorted(set(candidates), key=lambda m: (m.fuzzy, -(m.end - m.start), m.start, m.concept))
    by_span: dict[tuple[int, int], list[Match]] = {}
    covered: set[int] = set()
    for match in candidates:
        span = (match.start, match.end)
        same = by_span.get(span)
        if same is not None:
            if all(a.concept != match.concept and a.fuzzy == match.fuzzy for a in same):
                same.append(match)
            continue
        if any(i in covered for i in range(match.start, match.end)):
            continue
        covered.update(range(match.start, match.end))
        by_span[span] = [match]
    accepted = [m for matches in by_span.values() for m in matches]
    return sorted(accepted, key=lambda m: (m.start, m.end, m.concept))
