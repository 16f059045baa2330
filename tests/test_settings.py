from __future__ import annotations

import pytest

from adplan.settings import Settings


def test_settings_from_environment(tmp_path):
    settings = Settings.from_env(
        {"ADPLAN_TARGET": "aws", "ADPLAN_BUCKET": "acme-lake", "ADPLAN_HOME": str(tmp_path), "OTHER": "x"}
    )
    assert settings.target == "aws"
    assert settings.bucket == "acme-lake"
    assert settings.home == tmp_path
    assert settings.athena_output_location == "s3://acme-lake/athena-results/"
    assert settings.lake_dir == tmp_path / "lake"


def test_unknown_target_is_refused():
    with pytest.raises(ValueError, match="ADPLAN_TARGET must be one of local, aws"):
        Settings.from_env({"ADPLAN_TARGET": "gcp"})


def test_whole_number_settings_are_read_as_numbers_and_bad_ones_named():
    assert Settings.from_env({"ADPLAN_ATHENA_RESULT_REUSE_MINUTES": "15"}).athena_result_reuse_minutes == 15
    with pytest.raises(ValueError, match="ADPLAN_ATHENA_RESULT_REUSE_MINUTES"):
        Settings.from_env({"ADPLAN_ATHENA_RESULT_REUSE_MINUTES": "soon"})
