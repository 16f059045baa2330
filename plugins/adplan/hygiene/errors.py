"""The errors the hygiene engine raises. Messages name files, sources, fields and counts, never values."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adplan.hygiene.ingest import Reconciliation


class HygieneError(Exception):
    """Base class: a problem with the data or its description that a person has to look at."""


class ContractError(HygieneError):
    """A contract or config YAML file is not valid (unknown key or type, bad value)."""


class MalformedFileError(HygieneError):
    """A landing file cannot be read as the contract describes it (empty, binary, wrong header or delimiter)."""


class MissingInputError(HygieneError):
    """An input the step needs is not there (no landing files for the date, no raw partition to curate)."""


class RejectedShareExceeded(HygieneError):  # noqa: N818 (the name the DAG tasks catch)
    """Too large a share of a source's rows failed validation; nothing was written for the source and date."""

    def __init__(self, message: str, reconciliation: Reconciliation) -> None:
        super().__init__(message)
        self.reconciliation = reconciliation
