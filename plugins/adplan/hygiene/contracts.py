"""Data contracts: ``include/contracts/<source>.yaml`` loaded into ``Contract`` and checked on the way in.

A contract that does not say what it means fails here, naming the file and the key, before any data is
read: an unknown key or type, a pattern DuckDB cannot compile, bounds on a text column, a primary key
that is not a column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from adplan.hygiene.errors import ContractError

COLUMN_TYPES = ("string", "integer", "decimal", "date", "timestamp", "boolean")
NUMERIC_TYPES = ("integer", "decimal")
# What curation does with a column, by its ``identity`` annotation (see adplan.hygiene.curate).
IDENTITY_KINDS = (
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "city",
    "state",
    "postal_code",
    "country",
    "date_of_birth",
    "maid",
    "email_sha256",
    "phone_sha256",
)
COMPRESSIONS = ("gzip", "none")
ENCODINGS = ("utf-8", "latin-1", "utf-16")

_CONTRACT_KEYS = frozenset(
    {"source", "description", "owner", "file", "max_rejected_share", "primary_key", "columns"}
)
_FILE_KEYS = frozenset({"format", "compression", "delimiter", "header", "encoding"})
_COLUMN_KEYS = frozenset(
    {
        "name",
        "type",
        "required",
        "pattern",
        "pii",
        "identity",
        "min",
        "max",
        "allowed",
        "max_length",
        "description",
    }
)
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class FileFormat:
    format: str = "csv"
    compression: str = "gzip"
    delimiter: str = ","
    header: bool = True
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    pii: bool = False
    identity: str | None = None
    pattern: str | None = None
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    description: str = ""


@dataclass(frozen=True)
class Contract:
    source: str
    columns: tuple[Column, ...]
    file: FileFormat = FileFormat()
    max_rejected_share: float | None = None
    primary_key: tuple[str, ...] = ()
    description: str = ""
    owner: str = ""
    origin: str = ""  # where it was loaded from, for messages

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def load_contract(source_or_path: str | Path, contracts_dir: Path | None = None) -> Contract:
    """Load a contract by source name (from ``contracts_dir``, default ``include/contracts``) or by path."""
    path = Path(source_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = (contracts_dir or _default_contracts_dir()) / f"{source_or_path}.yaml"
    if not path.is_file():
        raise ContractError(f"no contract file {path}")
    contract = parse_contract_text(path.read_text(encoding="utf-8"), str(path))
    if contract.source != path.stem:
        raise ContractError(f"{path}: source is {contract.source!r} but the file is named {path.name}")
    return contract


def load_contracts(contracts_dir: Path | None = None) -> dict[str, Contract]:
    """Every contract in a folder, by source name."""
    folder = contracts_dir or _default_contracts_dir()
    return {path.stem: load_contract(path) for path in sorted(folder.glob("*.yaml"))}


def parse_contract_text(text: str, origin: str) -> Contract:
    """Parse contract YAML text; ``origin`` (a path or URI) names it in error messages."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ContractError(f"{origin}: not valid YAML ({error})") from None
    return parse_contract(document, origin)


def parse_contract(document: Any, origin: str) -> Contract:
    where = _Where(origin)
    mapping = where.as_mapping(document, "the contract")
    where.known_keys(mapping, _CONTRACT_KEYS, "the contract")
    for key in ("source", "columns"):
        if key not in mapping:
            raise ContractError(f"{origin}: missing required key {key!r}")
    source = where.identifier(mapping["source"], "source")
    columns = tuple(
        _parse_column(where, item, index)
        for index, item in enumerate(where.as_list(mapping["columns"], "columns"))
    )
    if not columns:
        raise ContractError(f"{origin}: columns is empty")
    names = [column.name for column in columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ContractError(f"{origin}: duplicate column names {duplicates}")
    primary_key = _parse_primary_key(where, mapping.get("primary_key"), names)
    return Contract(
        source=source,
        columns=columns,
        file=_parse_file(where, mapping.get("file")),
        max_rejected_share=_parse_share(where, mapping.get("max_rejected_share")),
        primary_key=primary_key,
        description=str(mapping.get("description") or ""),
        owner=str(mapping.get("owner") or ""),
        origin=origin,
    )


def _parse_column(where: _Where, item: Any, index: int) -> Column:
    mapping = where.as_mapping(item, f"columns[{index}]")
    if "name" not in mapping:
        raise ContractError(f"{where.origin}: columns[{index}] has no name")
    name = where.identifier(mapping["name"], f"columns[{index}].name")
    label = f"column {name!r}"
    where.known_keys(mapping, _COLUMN_KEYS, label)
    column_type = mapping.get("type", "string")
    if column_type not in COLUMN_TYPES:
        raise ContractError(
            f"{where.origin}: {label} has unknown type {column_type!r}; types are {', '.join(COLUMN_TYPES)}"
        )
    identity = mapping.get("identity")
    if identity is not None:
        _check_identity(where, label, identity, column_type)
    bounds = {key: where.number(mapping.get(key), f"{label}.{key}") for key in ("min", "max")}
    if any(value is not None for value in bounds.values()) and column_type not in NUMERIC_TYPES:
        raise ContractError(f"{where.origin}: {label} has min/max but type {column_type!r} is not numeric")
    return Column(
        name=name,
        type=column_type,
        required=where.boolean(mapping.get("required", False), f"{label}.required"),
        pii=where.boolean(mapping.get("pii", False), f"{label}.pii"),
        identity=identity,
        pattern=_parse_pattern(where, mapping.get("pattern"), label),
        allowed=_parse_allowed(where, mapping.get("allowed"), label),
        min=bounds["min"],
        max=bounds["max"],
        max_length=_parse_max_length(where, mapping.get("max_length"), label),
        description=str(mapping.get("description") or ""),
    )


def _check_identity(where: _Where, label: str, identity: Any, column_type: str) -> None:
    if identity not in IDENTITY_KINDS:
        raise ContractError(
            f"{where.origin}: {label} has unknown identity {identity!r}; "
            f"identities are {', '.join(IDENTITY_KINDS)}"
        )
    allowed_types = ("string", "date") if identity == "date_of_birth" else ("string",)
    if column_type not in allowed_types:
        raise ContractError(
            f"{where.origin}: {label} has identity {identity!r}, which needs type {' or '.join(allowed_types)}"
        )


def _parse_pattern(where: _Where, pattern: Any, label: str) -> str | None:
    if pattern is None:
        return None
    if not isinstance(pattern, str) or not pattern:
        raise ContractError(f"{where.origin}: {label}.pattern must be a non-empty string")
    import duckdb

    # Validation runs the pattern in DuckDB (RE2): compile it there, not with Python's re.
    con = duckdb.connect()
    try:
        con.execute("SELECT regexp_full_match('', ?)", [pattern]).fetchall()
    except duckdb.Error as error:
        raise ContractError(f"{where.origin}: {label}.pattern is not a valid RE2 pattern ({error})") from None
    finally:
        con.close()
    return pattern


def _parse_allowed(where: _Where, allowed: Any, label: str) -> tuple[str, ...] | None:
    if allowed is None:
        return None
    values = where.as_list(allowed, f"{label}.allowed")
    if not values:
        raise ContractError(f"{where.origin}: {label}.allowed is empty")
    for value in values:
        # YAML reads yes/no/on/off as booleans: the delivered text would never equal them.
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ContractError(
                f"{where.origin}: {label}.allowed holds {value!r}, which is not text; quote the values"
            )
    return tuple(str(value) for value in values)


def _parse_max_length(where: _Where, value: Any, label: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ContractError(f"{where.origin}: {label}.max_length must be a positive integer")
    return value


def _parse_primary_key(where: _Where, value: Any, names: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    keys = [value] if isinstance(value, str) else where.as_list(value, "primary_key")
    unknown = [key for key in keys if key not in names]
    if unknown:
        raise ContractError(f"{where.origin}: primary_key names columns that do not exist: {unknown}")
    return tuple(keys)


def _parse_file(where: _Where, value: Any) -> FileFormat:
    if value is None:
        return FileFormat()
    mapping = where.as_mapping(value, "file")
    where.known_keys(mapping, _FILE_KEYS, "file")
    file_format = FileFormat(
        format=mapping.get("format", "csv"),
        compression=mapping.get("compression", "gzip"),
        delimiter=mapping.get("delimiter", ","),
        header=where.boolean(mapping.get("header", True), "file.header"),
        encoding=str(mapping.get("encoding", "utf-8")).lower(),
    )
    if file_format.format != "csv":
        raise ContractError(f"{where.origin}: file.format {file_format.format!r} is not supported (csv only)")
    if file_format.compression not in COMPRESSIONS:
        raise ContractError(f"{where.origin}: file.compression must be one of {', '.join(COMPRESSIONS)}")
    if not isinstance(file_format.delimiter, str) or len(file_format.delimiter) != 1:
        raise ContractError(f"{where.origin}: file.delimiter must be one character")
    if file_format.encoding not in ENCODINGS:
        raise ContractError(f"{where.origin}: file.encoding must be one of {', '.join(ENCODINGS)}")
    return file_format


def _parse_share(where: _Where, value: Any) -> float | None:
    share = where.number(value, "max_rejected_share")
    if share is not None and not 0 <= share <= 1:
        raise ContractError(f"{where.origin}: max_rejected_share must be between 0 and 1")
    return share


@dataclass(frozen=True)
class _Where:
    """Type checks that name the file and the key in their errors."""

    origin: str

    def as_mapping(self, value: Any, label: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise ContractError(f"{self.origin}: {label} must be a mapping")
        return value

    def as_list(self, value: Any, label: str) -> list[Any]:
        if not isinstance(value, list):
            raise ContractError(f"{self.origin}: {label} must be a list")
        return value

    def known_keys(self, mapping: Mapping[str, Any], known: frozenset[str], label: str) -> None:
        unknown = sorted(str(key) for key in mapping if key not in known)
        if unknown:
            raise ContractError(
                f"{self.origin}: {label} has unknown key(s) {', '.join(unknown)}; "
                f"known keys are {', '.join(sorted(known))}"
            )

    def identifier(self, value: Any, label: str) -> str:
        if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
            raise ContractError(f"{self.origin}: {label} must be a lowercase identifier, not {value!r}")
        return value

    def boolean(self, value: Any, label: str) -> bool:
        if not isinstance(value, bool):
            raise ContractError(f"{self.origin}: {label} must be true or false")
        return value

    def number(self, value: Any, label: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ContractError(f"{self.origin}: {label} must be a number")
        return value


def _default_contracts_dir() -> Path:
    from adplan.settings import get_settings

    return get_settings().contracts_dir
