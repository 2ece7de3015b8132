"""Errors of the diagnosis engine: broken knowledge files and invalid diagnosis steps."""

from __future__ import annotations

from posops.core.errors import Invalid
from posops.core.labels import Label


class KnowledgeError(ValueError):
    """A knowledge file is missing, malformed or inconsistent; names the file and the entry."""

    def __init__(self, file: str, entry: str, problem: str) -> None:
        super().__init__(f"{file}: {entry}: {problem}")
        self.file = file
        self.entry = entry
        self.problem = problem


class StepError(Invalid):
    """A request to the engine names an unknown id or an outcome the step does not have.

    Give the catalogue ``key`` of the reason (and its ``values``) so it is said in both languages;
    ``reason`` is its English words.

    >>> StepError("text", key="diagnosis.error.text_too_long", max=4000).problems[0].reason
    Label(zh='超过 4000 个字。', en='longer than 4000 characters')
    """

    def __init__(self, field: str, reason: str | Label | None = None, *, key: str | None = None,
                 **values: object) -> None:
        super().__init__(field, reason, key=key, line=None, **values)
        self.field = field
        self.reason = self.problems[0].reason.en
