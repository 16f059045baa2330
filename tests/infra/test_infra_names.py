"""The names the renderer repeats (to stay free of Airflow) equal the aws target's and the engines'."""

from __future__ import annotations

from adplan.infra import names


def test_names_match_the_aws_target_and_the_clean_room_jobs(project_config):
    from adplan.cleanroom.jobs import ZONE
    from adplan.targets.aws import GLUE_JOB_NAME, matching_workflow_name

    assert names.GLUE_JOB_NAME == GLUE_JOB_NAME
    assert names.CLEAN_ROOM_ZONE == ZONE
    for stem in project_config.workflows:
        path = f"workflows/{stem}.json"
        assert names.matching_workflow_name(path) == matching_workflow_name(path)
