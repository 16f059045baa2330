"""Contract and config loading: valid files load; anything unclear fails naming the file and the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hygiene_fixtures import CRM_CONTRACT

from adplan.hygiene import Contract, ContractError, load_contract, load_contracts
from adplan.hygiene.config import HygieneConfig, load_config, parse_config_text
from adplan.hygiene.contracts import parse_contract_text
from adplan.hygiene.curate import curated_columns
from adplan.settings import PROJECT_DIR

MINIMAL = "source: things\ncolumns:\n  - {name: id, type: integer, required: true}\n"


def test_crm_contract_loads(crm_contract: Contract) -> None:
    assert crm_contract.source == "crm_customers"
    assert crm_contract.column_names[:3] == ("customer_id", "first_name", "last_name")
    assert crm_contract.primary_key == ("customer_id",)
    assert crm_contract.file.compression == "gzip"
    assert crm_contract.column("email").identity == "email"
    assert crm_contract.column("email").pii is True
    assert crm_contract.max_rejected_share == 0.9


def test_defaults() -> None:
    contract = parse_contract_text(MINIMAL, "things.yaml")
    assert contract.file.delimiter == ","
    assert contract.file.header is True
    assert contract.max_rejected_share is None
    assert contract.column("id").pii is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "colour: blue\n", "unknown key(s) colour"),
        (MINIMAL.replace("integer", "int"), "unknown type 'int'"),
        (MINIMAL.replace("required: true", "requird: true"), "column 'id' has unknown key(s) requird"),
        (MINIMAL + "  - {name: e, identity: mail}\n", "unknown identity 'mail'"),
        (MINIMAL + "  - {name: e, type: integer, identity: email}\n", "needs type string"),
        (MINIMAL + "  - {name: e, pattern: '(?=x)'}\n", "not a valid RE2 pattern"),
        (MINIMAL + "  - {name: e, min: 0}\n", "not numeric"),
        (MINIMAL + "  - {name: e, allowed: [yes, no]}\n", "quote the values"),
        (MINIMAL + "  - {name: id}\n", "duplicate column names"),
        (MINIMAL + "primary_key: [nope]\n", "primary_key names columns that do not exist"),
        (MINIMAL + "file: {compression: zip}\n", "file.compression"),
        (MINIMAL + "file: {delimiter: '||'}\n", "one character"),
        (MINIMAL + "file: {format: json}\n", "csv only"),
        (MINIMAL + "file: {quoting: all}\n", "file has unknown key(s) quoting"),
        (MINIMAL + "max_rejected_share: 5\n", "between 0 and 1"),
        ("source: Things\ncolumns: []\n", "lowercase identifier"),
        ("source: things\ncolumns: []\n", "columns is empty"),
        ("source: things\n", "missing required key 'columns'"),
        ("- just a list\n", "must be a mapping"),
        ("source: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_contracts_name_the_file_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(ContractError, match=r"bad\.yaml") as raised:
        parse_contract_text(text, "include/contracts/bad.yaml")
    assert message in str(raised.value)


def test_source_must_match_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(MINIMAL)
    with pytest.raises(ContractError, match=r"other\.yaml: source is 'things'"):
        load_contract(path)


def test_missing_contract(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="no contract file"):
        load_contract("nothing", tmp_path)


def test_load_by_name_and_folder(write_contract: Callable[[str], Contract], tmp_path: Path) -> None:
    write_contract(CRM_CONTRACT)
    write_contract(MINIMAL)
    folder = tmp_path / "contracts"
    assert load_contract("things", folder).source == "things"
    assert sorted(load_contracts(folder)) == ["crm_customers", "things"]


def test_curated_column_names_must_not_clash() -> None:
    text = MINIMAL + "  - {name: email, identity: email}\n  - {name: email_sha256}\n"
    with pytest.raises(ContractError, match="duplicate columns \\['email_sha256'\\]"):
        curated_columns(parse_contract_text(text, "x.yaml"))


# ------------------------------------------------------------------------------------------- config


def test_project_config_loads() -> None:
    config = load_config(PROJECT_DIR / "include" / "config" / "hygiene.yaml")
    assert config.default_region == "US"
    assert "crm_customers" in config.sources
    assert 0 < config.default_max_rejected_share < 1


def test_threshold_precedence() -> None:
    contract = parse_contract_text(MINIMAL + "max_rejected_share: 0.2\n", "things.yaml")
    plain = parse_contract_text(MINIMAL, "things.yaml")
    assert HygieneConfig().threshold_for(contract) == 0.2
    assert HygieneConfig(thresholds={"things": 0.01}).threshold_for(contract) == 0.01
    assert HygieneConfig(default_max_rejected_share=0.3).threshold_for(plain) == 0.3


def test_day_first_dates_follow_the_region() -> None:
    assert HygieneConfig(default_region="US").day_first_dates is False
    assert HygieneConfig(default_region="GB").day_first_dates is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("default_region: XX\n", "not a phone region"),
        ("thresholds: {orders: 2}\n", "thresholds.orders"),
        ("min_rows_for_share: 0\n", "min_rows_for_share"),
        ("colour: blue\n", "unknown key(s) colour"),
    ],
)
def test_invalid_config(text: str, message: str) -> None:
    with pytest.raises(ContractError, match=r"hygiene\.yaml") as raised:
        parse_config_text(text, "include/config/hygiene.yaml")
    assert message in str(raised.value)


# ------------------------------------------------------------------------ the generator's contracts


PROJECT_CONTRACTS = sorted((PROJECT_DIR / "include" / "contracts").glob("*.yaml"))


@pytest.mark.skipif(not PROJECT_CONTRACTS, reason="include/contracts has no contracts yet")
@pytest.mark.parametrize("path", PROJECT_CONTRACTS, ids=lambda path: path.stem)
def test_project_contracts_load_and_curate(path: Path) -> None:
    contract = load_contract(path)
    assert contract.source == path.stem
    assert curated_columns(contract)[-2:] == ["source_file", "source_row"]
