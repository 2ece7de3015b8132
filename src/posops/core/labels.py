"""Bilingual names and sentences for the pure modules, taken from the console's message catalog.

The catalog (each feature's ``messages.yaml``) is the one source of truth for how a status,
reason, role, material or action is called, and for the sentences (refusals, conditions,
notices) built around those names; the pure modules read them from it, so a page and an error
message can never disagree, and a key missing from the catalog is a KeyError, never shown.

>>> catalog_label("status.suspended")
Label(zh='已停机', en='suspended')
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import NamedTuple, TypeVar

from posops.core.i18n import translate

K = TypeVar("K")


class Label(NamedTuple):
    """A short name in zh-CN and English (the English one in sentence case, for use mid-sentence)."""

    zh: str
    en: str

    def text(self, lang: str = "zh-CN") -> str:
        """Return the name in ``lang`` (``en``, else zh-CN)."""
        return self.en if lang == "en" else self.zh

    def starting_sentence(self) -> Label:
        """Return the label with its English name capitalised, to start a sentence."""
        return Label(self.zh, upper_first(self.en))

    def mid_sentence(self) -> Label:
        """Return the label with its English name in sentence case, for use mid-sentence."""
        return Label(self.zh, sentence_case(self.en))


def sentence_case(text: str) -> str:
    """Lower the first letter of a display name so it reads mid-sentence ("ID card" stays as it is)."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def upper_first(text: str) -> str:
    """Capitalise the first letter, for a name that starts an English sentence."""
    return text[:1].upper() + text[1:]


def catalog_label(key: str) -> Label:
    """Return the catalog message ``key`` as a Label; KeyError when the catalog lacks it."""
    zh, en = translate(key, "zh-CN"), translate(key, "en")
    if zh == key:
        raise KeyError(f"message {key!r} is missing from every messages.yaml")
    return Label(zh, sentence_case(en))


def catalog_sentence(key: str, **values: object) -> Label:
    """Return the catalog sentence ``key`` in both languages, its placeholders filled from ``values``.

    A Label value fills the zh-CN text with its ``zh`` and the English text with its ``en``; any other
    value fills both. KeyError when the catalog lacks the key or the sentence names a missing value.
    """
    if translate(key, "zh-CN") == key:
        raise KeyError(f"message {key!r} is missing from every messages.yaml")
    zh = {name: v.zh if isinstance(v, Label) else v for name, v in values.items()}
    en = {name: v.en if isinstance(v, Label) else v for name, v in values.items()}
    return Label(translate(key, "zh-CN", **zh), translate(key, "en", **en))


def catalog_labels(prefix: str, values: Iterable[K], *, key_of: Mapping[K, str] | None = None) -> dict[K, Label]:
    """Map each value to the Label of ``prefix + value`` (or ``prefix + key_of[value]``)."""
    return {v: catalog_label(prefix + (key_of[v] if key_of and v in key_of else str(v))) for v in values}


class Condition(NamedTuple):
    """A precondition that is not met yet: a stable code, zh-CN and English text, and its subject."""

    code: str
    zh: str
    en: str
    subject: str | None = None


def catalog_condition(prefix: str, code: str, subject: str | None = None, **values: object) -> Condition:
    """Return the Condition ``code``, its texts the catalog sentence ``prefix + code`` filled from ``values``."""
    text = catalog_sentence(prefix + code, **values)
    return Condition(code, text.zh, text.en, subject)


SAID_PREFIX = "said:"
"""Marks a stored note or reason that posops wrote itself, as a catalogue sentence with its values."""


class SaidText(str):
    """A note posops wrote itself: the string is its English text; ``zh`` is the same in zh-CN."""

    zh: str

    def __new__(cls, label: Label) -> SaidText:
        """Make the text of ``label``: English as the string, zh-CN alongside."""
        text = super().__new__(cls, label.en)
        text.zh = label.zh
        return text


def said(key: str, **values: str | int) -> str:
    """How to store a note or audit reason posops writes itself, so each reader sees it in its own language.

    >>> read_said(said("terminals.audit.reactivated_by_request", number=2)).zh
    '复机申请 #2 已批准'
    """
    return SAID_PREFIX + json.dumps({"key": key, "values": values}, ensure_ascii=False, sort_keys=True)


def read_said(text: str | None) -> str | None:
    """A stored note as text: a note posops wrote becomes a SaidText (English, with zh-CN); others stay as typed."""
    if text is None or not text.startswith(SAID_PREFIX):
        return text
    try:
        stored = json.loads(text[len(SAID_PREFIX):])
        return SaidText(catalog_sentence(stored["key"], **stored["values"]))
    except (ValueError, KeyError, TypeError):
        return text


def in_lang(text: str | None, lang: str) -> str:
    """A note in the page's language: a SaidText in ``lang``, anything else as it is."""
    if isinstance(text, SaidText):
        return text.zh if lang != "en" else str(text)
    return text or ""
