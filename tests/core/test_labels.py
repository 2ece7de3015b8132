"""Lifecycle names come from the console's message catalog, so pages and refusals use the same words."""

from __future__ import annotations

import pytest

from posops.core.i18n import translate
from posops.core.labels import Label, catalog_condition, catalog_label, catalog_sentence, sentence_case, upper_first
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


def test_a_missing_sentence_or_placeholder_is_an_error() -> None:
    with pytest.raises(KeyError):
        catalog_sentence("terminals.notice.no_such_sentence")
    with pytest.raises(KeyError):
        catalog_condition("reactivation.condition.", "no_such_condition")
    with pytest.raises(KeyError):
        catalog_sentence("transitions.allowed.some", who="agent")


def test_a_sentence_fills_each_language_from_a_label() -> None:
    who = Label("客服", "agent")
    assert catalog_sentence("transitions.allowed.some", who=who, actions=Label("停机", "suspend")) == Label(
        "客服可执行的操作：停机。", "As agent you may: suspend.")
    condition = catalog_condition("reactivation.condition.", "arrears_unpaid", "100", owed="1.00")
    assert (condition.code, condition.subject) == ("arrears_unpaid", "100")
    assert who.starting_sentence() == Label("客服", "Agent")
    assert Label("终端", "Terminal T1").mid_sentence() == Label("终端", "terminal T1")
