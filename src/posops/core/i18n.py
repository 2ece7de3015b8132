"""Console messages in zh-CN and English, gathered from each feature's messages.yaml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

LANGUAGES = ("zh-CN", "en")
PACKAGE_DIR = Path(__file__).resolve().parent.parent


@lru_cache
def catalog() -> dict[str, dict[str, str]]:
    """Load every `<feature>/messages.yaml` into one key -> {lang: text} map."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(PACKAGE_DIR.glob("*/messages.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, texts in entries.items():
            missing = [lang for lang in LANGUAGES if not isinstance(texts, dict) or lang not in texts]
            if missing:
                raise ValueError(f"{path}: message {key!r} lacks {', '.join(missing)}")
            if key in merged:
                raise ValueError(f"{path}: message {key!r} is defined twice")
            merged[key] = texts
    return merged


def normalize_lang(lang: str | None, default: str = "zh-CN") -> str:
    """Map an Accept-Language value or a short code to zh-CN or en."""
    if not lang:
        return default
    lang = lang.split(",")[0].strip().lower()
    if lang.startswith("en"):
        return "en"
    if lang.startswith("zh"):
        return "zh-CN"
    return default


def translate(key: str, lang: str, **values: object) -> str:
    """Return the message `key` in `lang`, formatted with `values`; the key itself if unknown."""
    texts = catalog().get(key)
    if texts is None:
        return key
    text = texts.get(lang) or texts["zh-CN"]
    return text.format(**values) if values else text
