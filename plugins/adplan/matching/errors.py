"""Errors of the identity-resolution engine: each names the file and the field at fault."""

from __future__ import annotations

from pathlib import Path


class MatchingConfigError(ValueError):
    """A schema mapping or matching workflow that AWS Entity Resolution would reject.

    ``source`` is the file (or a label for an in-memory document) and ``field`` the JSON path of the
    offending value (``resolutionTechniques.ruleBasedProperties.rules[1].matchingKeys``).
    """

    def __init__(self, source: str | Path | None, field: str, problem: str) -> None:
        self.source = str(source) if source is not None else "<config>"
        self.field = field
        self.problem = problem
        where = f"{self.source}: {field}" if field else self.source
        super().__init__(f"{where}: {problem}")


class MatchingInputError(ValueError):
    """An input table or file that cannot be matched (missing file, missing column, unreadable)."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"input {source}: {problem}")
