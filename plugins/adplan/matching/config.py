"""Schema mappings and matching workflows, read from the JSON that AWS Entity Resolution takes.

A schema mapping file is the body of ``CreateSchemaMapping`` (``schemaName``, ``mappedInputFields``
with ``fieldName``, ``type``, ``groupName``, ``matchKey``, ``subType``, ``hashed``); a workflow file is
the body of ``CreateMatchingWorkflow`` (``workflowName``, ``inputSourceConfig``,
``outputSourceConfig``, ``resolutionTechniques``). The local engines read these same files and
validate them as the service would, so a mistake fails here, naming the file and the field, rather
than as a failed job on AWS.

Locally an ``inputSourceARN`` is the name of the input (a curated table, or ``NAME`` given to
``adplan match --input NAME=PATH``); a Glue table ARN is accepted too and stands for its table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adplan.matching.errors import MatchingConfigError

ATTRIBUTE_TYPES = (
    "NAME",
    "NAME_FIRST",
    "NAME_MIDDLE",
    "NAME_LAST",
    "ADDRESS",
    "ADDRESS_STREET1",
    "ADDRESS_STREET2",
    "ADDRESS_STREET3",
    "ADDRESS_CITY",
    "ADDRESS_STATE",
    "ADDRESS_COUNTRY",
    "ADDRESS_POSTALCODE",
    "PHONE",
    "PHONE_NUMBER",
    "PHONE_COUNTRYCODE",
    "EMAIL_ADDRESS",
    "UNIQUE_ID",
    "DATE",
    "STRING",
    "PROVIDER_ID",
    "IPV4",
    "IPV6",
    "MAID",
)
RULE_MATCHING = "RULE_MATCHING"
ML_MATCHING = "ML_MATCHING"
RESOLUTION_TYPES = (RULE_MATCHING, ML_MATCHING, "PROVIDER")
ONE_TO_ONE = "ONE_TO_ONE"
MANY_TO_MANY = "MANY_TO_MANY"
ATTRIBUTE_MATCHING_MODELS = (ONE_TO_ONE, MANY_TO_MANY)
MATCH_PURPOSES = ("IDENTIFIER_GENERATION", "INDEXING")

# Field names the service writes itself; a schema mapping may not use them.
RESERVED_FIELD_NAMES = frozenset(
    {"EmailAddress", "InputSourceARN", "MatchRule", "MatchID", "HashingProtocol", "ConfidenceLevel", "Source"}
)
# Rule-based matching rejects records whose unique id is longer than this.
RULE_MATCHING_MAX_ID_LENGTH = 38

# Service limits and name patterns from the API reference.
MAX_INPUT_SOURCES = 20
MAX_RULES = 25
MAX_MATCHING_KEYS = 15
ENTITY_NAME = re.compile(r"^[a-zA-Z_0-9-]{1,255}$")
ATTRIBUTE_NAME = re.compile(r"^[a-zA-Z_0-9- \t]{1,255}$")
GLUE_TABLE_ARN = re.compile(r"^arn:aws[a-z-]*:glue:[^:]*:[^:]*:table/(?P<database>[^/]+)/(?P<table>[^/]+)$")

# The group type of a field type: fields grouped under one groupName are one value of this kind.
GROUP_KIND = {
    "NAME_FIRST": "NAME",
    "NAME_MIDDLE": "NAME",
    "NAME_LAST": "NAME",
    "NAME": "NAME",
    "ADDRESS_STREET1": "ADDRESS",
    "ADDRESS_STREET2": "ADDRESS",
    "ADDRESS_STREET3": "ADDRESS",
    "ADDRESS_CITY": "ADDRESS",
    "ADDRESS_STATE": "ADDRESS",
    "ADDRESS_COUNTRY": "ADDRESS",
    "ADDRESS_POSTALCODE": "ADDRESS",
    "ADDRESS": "ADDRESS",
    "PHONE_NUMBER": "PHONE",
    "PHONE_COUNTRYCODE": "PHONE",
    "PHONE": "PHONE",
}


@dataclass(frozen=True)
class MappedField:
    field_name: str
    type: str
    group_name: str | None = None
    match_key: str | None = None
    sub_type: str | None = None
    hashed: bool = False


@dataclass(frozen=True)
class Attribute:
    """One value that a match key compares: a single field, or a group of fields joined by spaces."""

    name: str
    match_key: str
    fields: tuple[MappedField, ...]

    @property
    def kind(self) -> str:
        """NAME, ADDRESS, PHONE for groups and their parts; otherwise the field's own type."""
        first = self.fields[0].type
        return GROUP_KIND.get(first, first)

    @property
    def hashed(self) -> bool:
        return any(field.hashed for field in self.fields)

    @property
    def one_to_one_identity(self) -> str:
        # ONE_TO_ONE only compares attributes of the same sub-type (Email with Email, never with
        # BusinessEmail): a field is identified by its subType when it has one, else by its name.
        if len(self.fields) == 1 and self.fields[0].sub_type:
            return self.fields[0].sub_type
        return self.name


@dataclass(frozen=True)
class SchemaMapping:
    schema_name: str
    fields: tuple[MappedField, ...]
    description: str = ""
    origin: str = "<config>"

    @property
    def unique_id(self) -> MappedField:
        return next(field for field in self.fields if field.type == "UNIQUE_ID")

    def field(self, name: str) -> MappedField | None:
        return next((field for field in self.fields if field.field_name == name), None)

    def attributes(self) -> list[Attribute]:
        """The matchable attributes: grouped fields become one attribute per group."""
        attributes: list[Attribute] = []
        seen_groups: set[str] = set()
        for field in self.fields:
            if field.match_key is None or field.type == "UNIQUE_ID":
                continue
            if field.group_name is None:
                attributes.append(Attribute(field.field_name, field.match_key, (field,)))
            elif field.group_name not in seen_groups:
                seen_groups.add(field.group_name)
                members = tuple(other for other in self.fields if other.group_name == field.group_name)
                attributes.append(Attribute(field.group_name, field.match_key, members))
        return attributes

    @property
    def match_keys(self) -> set[str]:
        return {attribute.match_key for attribute in self.attributes()}

    def to_request(self) -> dict[str, Any]:
        """The ``CreateSchemaMapping`` request body."""
        fields = []
        for field in self.fields:
            entry: dict[str, Any] = {"fieldName": field.field_name, "type": field.type}
            for key, value in (
                ("groupName", field.group_name),
                ("matchKey", field.match_key),
                ("subType", field.sub_type),
            ):
                if value is not None:
                    entry[key] = value
            if field.hashed:
                entry["hashed"] = True
            fields.append(entry)
        request: dict[str, Any] = {"schemaName": self.schema_name, "mappedInputFields": fields}
        if self.description:
            request["description"] = self.description
        return request


@dataclass(frozen=True)
class Rule:
    rule_name: str
    matching_keys: tuple[str, ...]


@dataclass(frozen=True)
class InputSource:
    input_source_arn: str
    schema_name: str
    apply_normalization: bool = True

    @property
    def name(self) -> str:
        """The input's name: the table of a Glue table ARN, or the local name as written."""
        found = GLUE_TABLE_ARN.match(self.input_source_arn)
        return found["table"] if found else self.input_source_arn


@dataclass(frozen=True)
class OutputField:
    name: str
    hashed: bool = False


@dataclass(frozen=True)
class MatchingWorkflow:
    workflow_name: str
    inputs: tuple[InputSource, ...]
    resolution_type: str
    output_fields: tuple[OutputField, ...] = ()
    output_s3_path: str = ""
    rules: tuple[Rule, ...] = ()
    attribute_matching_model: str = MANY_TO_MANY
    match_purpose: str = "IDENTIFIER_GENERATION"
    description: str = ""
    origin: str = "<config>"
    schema_mappings: Mapping[str, SchemaMapping] | None = None

    def mapping_for(self, source: InputSource) -> SchemaMapping:
        assert self.schema_mappings is not None
        return self.schema_mappings[source.schema_name]


# ---------------------------------------------------------------------------------------------
# Loading and validation


def load_schema_mapping(document: Path | str | Mapping[str, Any], origin: str | None = None) -> SchemaMapping:
    """Read and validate one ``CreateSchemaMapping`` JSON (a path or an already parsed dict)."""
    body, origin = _read_document(document, origin)
    schema_name = _required_name(body, "schemaName", origin)
    raw_fields = body.get("mappedInputFields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise MatchingConfigError(origin, "mappedInputFields", "must be a non-empty list of fields")
    fields = tuple(_mapped_field(raw, f"mappedInputFields[{i}]", origin) for i, raw in enumerate(raw_fields))
    _check_field_names_unique(fields, origin)
    _check_one_unique_id(fields, origin)
    _check_groups(fields, origin)
    return SchemaMapping(schema_name, fields, _description(body, origin), origin)


# CreateSchemaMapping and CreateMatchingWorkflow refuse a longer description (and so does CloudFormation).
MAX_DESCRIPTION = 255


def _description(body: Mapping[str, Any], origin: str) -> str:
    description = str(body.get("description", ""))
    if len(description) > MAX_DESCRIPTION:
        raise MatchingConfigError(
            origin, "description", f"is {len(description)} characters; the service allows {MAX_DESCRIPTION}"
        )
    return description


def load_matching_workflow(
    document: Path | str | Mapping[str, Any],
    schema_mappings: Iterable[SchemaMapping] | Mapping[str, SchemaMapping],
    origin: str | None = None,
) -> MatchingWorkflow:
    """Read and validate one ``CreateMatchingWorkflow`` JSON against the schema mappings it uses."""
    body, origin = _read_document(document, origin)
    mappings = _mappings_by_name(schema_mappings)
    workflow_name = _required_name(body, "workflowName", origin)
    inputs = _input_sources(body.get("inputSourceConfig"), mappings, origin)
    _check_unique_ids_do_not_overlap(inputs, mappings, origin)
    output_fields, output_path = _output_config(body.get("outputSourceConfig"), inputs, mappings, origin)
    techniques = body.get("resolutionTechniques")
    if not isinstance(techniques, dict):
        raise MatchingConfigError(origin, "resolutionTechniques", "is required (an object)")
    resolution_type = techniques.get("resolutionType")
    if resolution_type not in RESOLUTION_TYPES:
        raise MatchingConfigError(
            origin,
            "resolutionTechniques.resolutionType",
            f"must be one of {', '.join(RESOLUTION_TYPES)}, not {resolution_type!r}",
        )
    if resolution_type == "PROVIDER":
        raise MatchingConfigError(
            origin,
            "resolutionTechniques.resolutionType",
            "PROVIDER matching runs only on AWS (a data provider does it); locally use RULE_MATCHING or ML_MATCHING",
        )
    workflow = MatchingWorkflow(
        workflow_name=workflow_name,
        inputs=inputs,
        resolution_type=resolution_type,
        output_fields=output_fields,
        output_s3_path=output_path,
        description=_description(body, origin),
        origin=origin,
        schema_mappings=mappings,
    )
    if resolution_type == RULE_MATCHING:
        return _with_rule_properties(workflow, techniques, inputs, mappings, origin)
    if "ruleBasedProperties" in techniques:
        raise MatchingConfigError(
            origin, "resolutionTechniques.ruleBasedProperties", "is only allowed with RULE_MATCHING"
        )
    return workflow


def load_config(
    workflow_path: Path, schema_mapping_paths: Iterable[Path] | Path | None = None
) -> MatchingWorkflow:
    """Load a workflow file with its schema mappings.

    Without ``schema_mapping_paths`` the mappings are read from ``schema_mappings/`` beside the
    workflow's folder (the layout of ``include/config/entity_resolution``).
    """
    if schema_mapping_paths is None:
        schema_mapping_paths = sorted((workflow_path.parent.parent / "schema_mappings").glob("*.json"))
    elif isinstance(schema_mapping_paths, Path):
        schema_mapping_paths = [schema_mapping_paths]
    mappings = [load_schema_mapping(path) for path in schema_mapping_paths]
    return load_matching_workflow(workflow_path, mappings)


def default_config_dir() -> Path:
    from adplan.settings import get_settings

    return get_settings().config_dir / "entity_resolution"


def aws_workflow_request(
    workflow: MatchingWorkflow,
    *,
    region: str,
    account_id: str,
    glue_database: str,
    role_arn: str,
    output_s3_path: str | None = None,
) -> dict[str, Any]:
    """The ``CreateMatchingWorkflow`` body for AWS: local input names become Glue table ARNs."""

    def glue_arn(source: InputSource) -> str:
        if GLUE_TABLE_ARN.match(source.input_source_arn):
            return source.input_source_arn
        return f"arn:aws:glue:{region}:{account_id}:table/{glue_database}/{source.name}"

    techniques: dict[str, Any] = {"resolutionType": workflow.resolution_type}
    if workflow.resolution_type == RULE_MATCHING:
        techniques["ruleBasedProperties"] = {
            "rules": [
                {"ruleName": rule.rule_name, "matchingKeys": list(rule.matching_keys)}
                for rule in workflow.rules
            ],
            "attributeMatchingModel": workflow.attribute_matching_model,
            "matchPurpose": workflow.match_purpose,
        }
    request: dict[str, Any] = {
        "workflowName": workflow.workflow_name,
        "inputSourceConfig": [
            {
                "inputSourceARN": glue_arn(source),
                "schemaName": source.schema_name,
                "applyNormalization": source.apply_normalization,
            }
            for source in workflow.inputs
        ],
        "outputSourceConfig": [
            {
                "outputS3Path": output_s3_path or workflow.output_s3_path,
                "output": [{"name": field.name, "hashed": field.hashed} for field in workflow.output_fields],
            }
        ],
        "resolutionTechniques": techniques,
        "roleArn": role_arn,
    }
    if workflow.description:
        request["description"] = workflow.description
    return request


# ---------------------------------------------------------------------------------------------
# Helpers


def _read_document(document: Path | str | Mapping[str, Any], origin: str | None) -> tuple[dict, str]:
    if isinstance(document, Mapping):
        return dict(document), origin or "<config>"
    path = Path(document)
    origin = origin or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MatchingConfigError(origin, "", "file not found") from None
    except OSError as error:
        raise MatchingConfigError(origin, "", f"cannot be read ({error.strerror})") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise MatchingConfigError(
            origin, "", f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(body, dict):
        raise MatchingConfigError(origin, "", "must hold a JSON object")
    return body, origin


def _required_name(body: Mapping[str, Any], key: str, origin: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not ENTITY_NAME.match(value):
        raise MatchingConfigError(
            origin, key, f"is required: 1-255 characters of letters, digits, _ and - (got {value!r})"
        )
    return value


def _mapped_field(raw: Any, path: str, origin: str) -> MappedField:
    if not isinstance(raw, dict):
        raise MatchingConfigError(origin, path, "must be an object")
    unknown = set(raw) - {"fieldName", "type", "groupName", "matchKey", "subType", "hashed"}
    if unknown:
        raise MatchingConfigError(
            origin, f"{path}.{sorted(unknown)[0]}", "is not a field of SchemaInputAttribute"
        )
    field_name = raw.get("fieldName")
    if not isinstance(field_name, str) or not ATTRIBUTE_NAME.match(field_name):
        raise MatchingConfigError(
            origin, f"{path}.fieldName", f"is required and must be a valid name (got {field_name!r})"
        )
    if field_name in RESERVED_FIELD_NAMES:
        raise MatchingConfigError(
            origin, f"{path}.fieldName", f"{field_name!r} is reserved for the service's output columns"
        )
    field_type = raw.get("type")
    if field_type not in ATTRIBUTE_TYPES:
        raise MatchingConfigError(
            origin,
            f"{path}.type",
            f"{field_type!r} is not an attribute type; use one of {', '.join(ATTRIBUTE_TYPES)}",
        )
    optional = {}
    for key in ("groupName", "matchKey", "subType"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not ATTRIBUTE_NAME.match(value)):
            raise MatchingConfigError(origin, f"{path}.{key}", f"must be a valid name (got {value!r})")
        optional[key] = value
    hashed = raw.get("hashed", False)
    if not isinstance(hashed, bool):
        raise MatchingConfigError(origin, f"{path}.hashed", f"must be true or false (got {hashed!r})")
    return MappedField(
        field_name, field_type, optional["groupName"], optional["matchKey"], optional["subType"], hashed
    )


def _check_field_names_unique(fields: tuple[MappedField, ...], origin: str) -> None:
    seen: set[str] = set()
    for i, field in enumerate(fields):
        if field.field_name in seen:
            raise MatchingConfigError(
                origin, f"mappedInputFields[{i}].fieldName", f"{field.field_name!r} is mapped twice"
            )
        seen.add(field.field_name)


def _check_one_unique_id(fields: tuple[MappedField, ...], origin: str) -> None:
    unique_ids = [i for i, field in enumerate(fields) if field.type == "UNIQUE_ID"]
    if len(unique_ids) != 1:
        raise MatchingConfigError(
            origin,
            "mappedInputFields",
            f"needs exactly one field of type UNIQUE_ID (found {len(unique_ids)})",
        )
    field = fields[unique_ids[0]]
    if field.match_key is not None or field.group_name is not None:
        raise MatchingConfigError(
            origin,
            f"mappedInputFields[{unique_ids[0]}]",
            "the UNIQUE_ID field takes no matchKey or groupName",
        )


def _check_groups(fields: tuple[MappedField, ...], origin: str) -> None:
    # A group is one value: its fields share one matchKey and are of one kind (all name parts, ...).
    groups: dict[str, tuple[int, MappedField]] = {}
    for i, field in enumerate(fields):
        if field.group_name is None:
            continue
        if field.group_name not in groups:
            groups[field.group_name] = (i, field)
            continue
        _, first = groups[field.group_name]
        if field.match_key != first.match_key:
            raise MatchingConfigError(
                origin,
                f"mappedInputFields[{i}].matchKey",
                f"fields of group {field.group_name!r} must share one matchKey "
                f"({first.field_name} has {first.match_key!r}, {field.field_name} has {field.match_key!r})",
            )
        if GROUP_KIND.get(field.type, field.type) != GROUP_KIND.get(first.type, first.type):
            raise MatchingConfigError(
                origin,
                f"mappedInputFields[{i}].type",
                f"group {field.group_name!r} mixes {first.type} and {field.type}",
            )


def _mappings_by_name(
    schema_mappings: Iterable[SchemaMapping] | Mapping[str, SchemaMapping],
) -> dict[str, SchemaMapping]:
    if isinstance(schema_mappings, Mapping):
        return dict(schema_mappings)
    by_name: dict[str, SchemaMapping] = {}
    for mapping in schema_mappings:
        if mapping.schema_name in by_name:
            raise MatchingConfigError(
                mapping.origin,
                "schemaName",
                f"{mapping.schema_name!r} is also defined in {by_name[mapping.schema_name].origin}",
            )
        by_name[mapping.schema_name] = mapping
    return by_name


def _input_sources(raw: Any, mappings: Mapping[str, SchemaMapping], origin: str) -> tuple[InputSource, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_INPUT_SOURCES:
        raise MatchingConfigError(
            origin, "inputSourceConfig", f"must list 1 to {MAX_INPUT_SOURCES} input sources"
        )
    sources = []
    names: set[str] = set()
    for i, entry in enumerate(raw):
        path = f"inputSourceConfig[{i}]"
        if not isinstance(entry, dict):
            raise MatchingConfigError(origin, path, "must be an object")
        arn = entry.get("inputSourceARN")
        if not isinstance(arn, str) or not arn:
            raise MatchingConfigError(origin, f"{path}.inputSourceARN", "is required")
        schema_name = entry.get("schemaName")
        if schema_name not in mappings:
            known = ", ".join(sorted(mappings)) or "none loaded"
            raise MatchingConfigError(
                origin, f"{path}.schemaName", f"no schema mapping named {schema_name!r} (known: {known})"
            )
        normalize = entry.get("applyNormalization", True)
        if not isinstance(normalize, bool):
            raise MatchingConfigError(origin, f"{path}.applyNormalization", "must be true or false")
        source = InputSource(arn, schema_name, normalize)
        if source.name in names:
            raise MatchingConfigError(
                origin, f"{path}.inputSourceARN", f"input {source.name!r} is listed twice"
            )
        names.add(source.name)
        sources.append(source)
    return tuple(sources)


def _check_unique_ids_do_not_overlap(
    inputs: tuple[InputSource, ...], mappings: Mapping[str, SchemaMapping], origin: str
) -> None:
    # The service rejects records whose unique id "overlaps in terms of attribute names across
    # sources": one input's unique id column may not be a (matched) field of another input.
    for i, source in enumerate(inputs):
        unique_id = mappings[source.schema_name].unique_id.field_name
        for other in inputs:
            mapped = mappings[other.schema_name].field(unique_id)
            if other is not source and mapped is not None and mapped.type != "UNIQUE_ID":
                raise MatchingConfigError(
                    origin,
                    f"inputSourceConfig[{i}].schemaName",
                    f"the unique id {unique_id!r} of {source.name} is also a mapped field of {other.name} "
                    f"(schema {other.schema_name}); the service rejects such records: rename or unmap it",
                )


def _output_config(
    raw: Any, inputs: tuple[InputSource, ...], mappings: Mapping[str, SchemaMapping], origin: str
) -> tuple[tuple[OutputField, ...], str]:
    if not isinstance(raw, list) or len(raw) != 1 or not isinstance(raw[0], dict):
        raise MatchingConfigError(origin, "outputSourceConfig", "must be a list with one output object")
    config = raw[0]
    path = config.get("outputS3Path", "")
    if not isinstance(path, str):
        raise MatchingConfigError(origin, "outputSourceConfig[0].outputS3Path", "must be a string")
    entries = config.get("output", [])
    if not isinstance(entries, list):
        raise MatchingConfigError(origin, "outputSourceConfig[0].output", "must be a list of {name, hashed}")
    known = {field.field_name for source in inputs for field in mappings[source.schema_name].fields}
    fields = []
    for i, entry in enumerate(entries):
        where = f"outputSourceConfig[0].output[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise MatchingConfigError(origin, where, "must be an object with a name")
        if entry["name"] not in known:
            raise MatchingConfigError(
                origin, f"{where}.name", f"{entry['name']!r} is not a field of any input's schema mapping"
            )
        hashed = entry.get("hashed", False)
        if not isinstance(hashed, bool):
            raise MatchingConfigError(origin, f"{where}.hashed", "must be true or false")
        fields.append(OutputField(entry["name"], hashed))
    return tuple(fields), path


def _with_rule_properties(
    workflow: MatchingWorkflow,
    techniques: Mapping[str, Any],
    inputs: tuple[InputSource, ...],
    mappings: Mapping[str, SchemaMapping],
    origin: str,
) -> MatchingWorkflow:
    base = "resolutionTechniques.ruleBasedProperties"
    properties = techniques.get("ruleBasedProperties")
    if not isinstance(properties, dict):
        raise MatchingConfigError(origin, base, "is required for RULE_MATCHING")
    model = properties.get("attributeMatchingModel")
    if model not in ATTRIBUTE_MATCHING_MODELS:
        raise MatchingConfigError(
            origin, f"{base}.attributeMatchingModel", f"must be ONE_TO_ONE or MANY_TO_MANY, not {model!r}"
        )
    purpose = properties.get("matchPurpose", "IDENTIFIER_GENERATION")
    if purpose not in MATCH_PURPOSES:
        raise MatchingConfigError(
            origin, f"{base}.matchPurpose", f"must be one of {', '.join(MATCH_PURPOSES)}"
        )
    available_keys = set().union(*(mappings[source.schema_name].match_keys for source in inputs))
    rules = _rules(properties.get("rules"), available_keys, origin, base)
    return MatchingWorkflow(
        **{
            **workflow.__dict__,
            "rules": rules,
            "attribute_matching_model": model,
            "match_purpose": purpose,
        }
    )


def _rules(raw: Any, available_keys: set[str], origin: str, base: str) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_RULES:
        raise MatchingConfigError(origin, f"{base}.rules", f"must list 1 to {MAX_RULES} rules")
    rules = []
    names: set[str] = set()
    for i, entry in enumerate(raw):
        path = f"{base}.rules[{i}]"
        if not isinstance(entry, dict):
            raise MatchingConfigError(origin, path, "must be an object with ruleName and matchingKeys")
        name = entry.get("ruleName")
        if not isinstance(name, str) or not ATTRIBUTE_NAME.match(name):
            raise MatchingConfigError(origin, f"{path}.ruleName", f"is required (got {name!r})")
        if name in names:
            raise MatchingConfigError(origin, f"{path}.ruleName", f"{name!r} is used by another rule")
        names.add(name)
        keys = entry.get("matchingKeys")
        if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_MATCHING_KEYS:
            raise MatchingConfigError(
                origin, f"{path}.matchingKeys", f"must list 1 to {MAX_MATCHING_KEYS} match keys"
            )
        for j, key in enumerate(keys):
            if key not in available_keys:
                known = ", ".join(sorted(available_keys)) or "none"
                raise MatchingConfigError(
                    origin,
                    f"{path}.matchingKeys[{j}]",
                    f"no input's schema mapping has matchKey {key!r} (match keys: {known})",
                )
        if len(set(keys)) != len(keys):
            raise MatchingConfigError(origin, f"{path}.matchingKeys", "lists a match key twice")
        rules.append(Rule(name, tuple(keys)))
    return tuple(rules)
