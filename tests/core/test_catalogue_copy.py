"""The Chinese copy reads as Chinese: full-width punctuation and no English sentence left untranslated."""

from __future__ import annotations

import re

from posops.core.i18n import catalog

CJK = "\u4e00-\u9fff"
HALF_WIDTH_BESIDE_CHINESE = re.compile(rf"[{CJK}][,;:!?()]|[,;:!?(][{CJK}]")
"""A comma, colon, semicolon, bracket or mark written half-width next to a Chinese character."""
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_chinese_copy_uses_full_width_punctuation() -> None:
    offenders = [f"{key}: {texts['zh-CN']}" for key, texts in catalog().items()
                 if HALF_WIDTH_BESIDE_CHINESE.search(texts["zh-CN"])]
    assert offenders == []


def test_no_english_message_is_left_in_chinese() -> None:
    untranslated = [key for key, texts in catalog().items()
                    if re.search(r"[A-Za-z]{3,}(?: [A-Za-z]{3,}){2,}", PLACEHOLDER.sub("", texts["zh-CN"]))
                    and not re.search(f"[{CJK}]", texts["zh-CN"])]
    assert untranslated == []
