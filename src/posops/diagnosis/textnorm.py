"""Text normalisation for complaints: NFKC, Traditional to Simplified, case, English contractions."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from opencc import OpenCC

_CONTRACTIONS = (
    (re.compile(r"\bcan ?not\b"), "cant"),
    (re.compile(r"\bwill not\b"), "wont"),
    (re.compile(r"\bdoes not\b"), "doesnt"),
    (re.compile(r"\bdo not\b"), "dont"),
    (re.compile(r"\bdid not\b"), "didnt"),
    (re.compile(r"\bis not\b"), "isnt"),
    (re.compile(r"\bare not\b"), "arent"),
    (re.compile(r"\bhave not\b"), "havent"),
    (re.compile(r"\bunable to\b"), "cant"),
)
_APOSTROPHE = re.compile(r"(?<=[a-z])['’](?=[a-z])")
_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
_SPACES = re.compile(r"\s+")
_ASCII_WORD = re.compile(r"[a-z0-9]")


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def normalize(text: str) -> str:
    """Return `text` in NFKC, Simplified Chinese and lower case, with English contractions joined.

    >>> normalize("POS機 Can't SIGN-IN")
    'pos机 cant signin'
    """
    text = unicodedata.normalize("NFKC", text)
    text = _t2s().convert(text).lower()
    text = _APOSTROPHE.sub("", text)
    text = _HYPHEN.sub("", text)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return _SPACES.sub(" ", text).strip()


def is_ascii_word_char(char: str) -> bool:
    """Tell whether `char` belongs to an English word or a number (after normalisation)."""
    return bool(_ASCII_WORD.fullmatch(char))


def fold_table(groups: list[str]) -> dict[int, str]:
    """Build a str.translate table mapping each character of a homophone group to the group's first."""
    table: dict[int, str] = {}
    for group in groups:
        for char in group[1:]:
            table[ord(char)] = group[0]
    return table


def stem(word: str) -> str:
    """Strip common English inflections so that "declined", "declines" and "decline" compare equal."""
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif (len(word) > 4 and word.endswith("ed")) or (len(word) > 4 and word.endswith("es")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def within_edits(a: str, b: str, limit: int) -> bool:
    """Tell whether `a` and `b` differ by at most `limit` edits (insert, delete, substitute, swap)."""
    if abs(len(a) - len(b)) > limit:
        return False
    if a == b:
        return True
    rows = len(a) + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, rows):
        current = [i] + [0] * len(b)
        best = current[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return False
        previous2, previous = previous, current
    return previous[len(b)] <= limit
