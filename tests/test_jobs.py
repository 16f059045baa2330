from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

from adplan import jobs
from adplan.settings import PROJECT_DIR
from adplan.targets.aws import matching_workflow_name


@pytest.mark.parametrize("name", sorted(jobs.JOBS))
def test_every_registered_job_resolves_to_a_function_of_ds(name):
    function = jobs.resolve(name)
    first = next(iter(inspect.signature(function).parameters))
    assert first == "ds"


def test_unknown_job_names_the_known_ones():
    with pytest.raises(KeyError, match=r"known jobs: attribution\.attribute"):
        jobs.resolve("nope")


def test_every_job_a_dag_names_is_registered():
    job_name = re.compile(r'"((?:hygiene|identity|audiences|attribution|cleanroom|creative)\.[a-z_]+)"')
    for dag_file in (PROJECT_DIR / "dags").glob("*.py"):
        unknown = set(job_name.findall(dag_file.read_text())) - set(jobs.JOBS)
        assert not unknown, f"{dag_file.name} names unregistered jobs {sorted(unknown)}"


@pytest.mark.parametrize(
    "workflow",
    sorted((PROJECT_DIR / "include/config/entity_resolution/workflows").glob("*.json")),
    ids=Path.name.fget,
)
def test_deployed_workflow_names_follow_the_file_names(workflow):
    name = json.loads(workflow.read_text())["workflowName"]
    assert matching_workflow_name(f"workflows/{workflow.name}") == name


def test_a_job_that_cannot_use_the_given_lake_refuses_it_by_name():
    from adplan.jobs import run

    with pytest.raises(ValueError, match=r"job identity\.resolve runs on the local lake only"):
        run("identity.resolve", "2026-01-05", {"lake": "s3://adplan-lake"})
