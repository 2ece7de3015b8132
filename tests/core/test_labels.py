"""Lifecycle names come from the console's message catalog, so pages and refusals use the same words."""

from __future__ import annotations

import pytest

from posops.core.i18n import translate
from posops.core.labels import catalog_label, sentence_case, upper_first
from posops.onboarding.workflow import MATERIAL_LABELS, Material
from posops.terminals.lifecycle import REASON_LABELS, STATUS_LABELS, SuspensionReason, TerminalStatus


def test_labels_are_the_catalogs_words() -> None:
    for reason in SuspensionReason:
        assert REASON_LABELS[reason].zh == translate(f"reason.{reason}", "zh-CN")
        assert REASON_LABELS[reason].en == sentence_case(translate(f"reason.{reason}", "en"))
    for status in TerminalStatus:
        assert STATUS_LABELS[status].zh == translate(f"status.{status}", "zh-CN")
    assert MATERIAL_LABELS[Material.ID_CARD].en == "ID card"


def test_sentence_case_keeps_acronyms() -> None:
    assert sentence_case("Risk limit") == "risk limit"
    assert sentence_case("ID card") == "ID card"
    assert sentence_case("") == "" and upper_first("merchant may") == "Merchant may"


def test_a_missing_message_is_an_error_not_a_silent_key() -> None:
    with pytest.raises(KeyError):
        catalog_label("terminals.no_such_message")
