"""Errors of the diagnosis engine: broken knowledge files and invalid diagnosis steps."""

from __future__ import annotations

from posops.core.errors import Invalid


class KnowledgeError(ValueError):
    """A knowledge file is missing, malformed or inconsistent; names the file and the entry."""

    def __init__(self, file: str, entry: str, problem: str) -> None:
        super().__init__(f"{file}: {entry}: {problem}")
        self.file = file
        self.entry = entry
        self.problem = problem


class StepError(Invalid):
    """A request to the engine names an unknown id or an outcome the step does not have."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason
