"""An HTTP stand-in for the AWS calls moto does not serve, for DAG runs in another process.

Botocore's Stubber replaces a client inside one process; a DAG run under ``adplan run`` creates its
clients in a child process (and its triggers use aiobotocore), so these calls are answered over HTTP
instead, on the services' own wire protocols. Botocore sends a service here when its
``AWS_ENDPOINT_URL_<SERVICE>`` variable points here (``FakeServices.endpoint_env``); everything else keeps
going to moto through ``AWS_ENDPOINT_URL``.

- Entity Resolution: StartMatchingJob, GetMatchingJob, GetMatchingWorkflow.
- Clean Rooms: ListAnalysisTemplates, StartProtectedQuery, GetProtectedQuery.
- QuickSight: CreateIngestion, DescribeIngestion (moto has only the first).
- Step Functions: StartExecution, DescribeExecution of the creative machine. Moto runs ASL but not its
  ``bedrock:invokeModel`` task, so the execution's output is what the machine returns with the local
  generator as the model (``adplan.creative.rounds.local_execution_output``), the local target's stand-in.

Every job, query, ingestion and execution succeeds at its first status check (their failures are tested
beside the operators, with Stubber). Every request is recorded in ``calls`` as (service, operation, body).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"

# (method, path pattern, service, operation)
ROUTES = [
    ("POST", r"/matchingworkflows/(?P<workflow>[^/]+)/jobs", "entityresolution", "StartMatchingJob"),
    ("GET", r"/matchingworkflows/(?P<workflow>[^/]+)/jobs/(?P<job>[^/]+)", "entityresolution", "GetMatchingJob"),
    ("GET", r"/matchingworkflows/(?P<workflow>[^/]+)", "entityresolution", "GetMatchingWorkflow"),
    ("GET", r"/memberships/(?P<membership>[^/]+)/analysistemplates", "cleanrooms", "ListAnalysisTemplates"),
    ("POST", r"/memberships/(?P<membership>[^/]+)/protectedQueries", "cleanrooms", "StartProtectedQuery"),
    ("GET", r"/memberships/(?P<membership>[^/]+)/protectedQueries/(?P<query>[^/]+)", "cleanrooms", "GetProtectedQuery"),
    ("PUT", r"/accounts/(?P<account>\d+)/data-sets/(?P<dataset>[^/]+)/ingestions/(?P<ingestion>[^/]+)", "quicksight", "CreateIngestion"),
    ("GET", r"/accounts/(?P<account>\d+)/data-sets/(?P<dataset>[^/]+)/ingestions/(?P<ingestion>[^/]+)", "quicksight", "DescribeIngestion"),
]  # fmt: skip


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _now() -> float:
    return datetime.now(UTC).timestamp()


class FakeServices:
    """The stand-in's state. ``start()`` serves it on loopback; ``endpoint_env()`` routes botocore to it."""

    def __init__(self, *, analysis_templates: list[str]) -> None:
        self.analysis_templates = list(analysis_templates)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.queries: dict[str, dict[str, Any]] = {}
        self.ingestions: dict[str, dict[str, Any]] = {}
        self.executions: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- serving ---------------------------------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                target = self.headers.get("X-Amz-Target")
                try:
                    status, answer = fake.dispatch(self.command, self.path.split("?")[0], target, body)
                except ServiceError as error:
                    status, answer = error.status, {"__type": error.code, "message": error.message}
                    self.send_response(status)
                    self.send_header("x-amzn-ErrorType", error.code)
                else:
                    self.send_response(status)
                payload = json.dumps(answer, default=str).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _answer  # noqa: N815 (http.server's names)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def endpoint_env(self, endpoint: str) -> dict[str, str]:
        services = ("ENTITYRESOLUTION", "CLEANROOMS", "QUICKSIGHT", "SFN")
        return {f"AWS_ENDPOINT_URL_{service}": endpoint for service in services}

    def operations(self, service: str, operation: str) -> list[dict[str, Any]]:
        return [body for svc, op, body in self.calls if (svc, op) == (service, operation)]

    def dispatch(self, method: str, path: str, target: str | None, body: dict[str, Any]) -> tuple[int, Any]:
        if target and target.startswith("AWSStepFunctions."):
            service, operation, args = "sfn", target.split(".", 1)[1], {}
        else:
            for route_method, pattern, route_service, route_operation in ROUTES:
                match = re.fullmatch(pattern, path)
                if match and route_method == method:
                    service, operation, args = route_service, route_operation, match.groupdict()
                    break
            else:
                raise ServiceError(404, "UnknownOperationException", f"{method} {path}")
        with self._lock:
            self.calls.append((service, operation, {**args, **body}))
            handler = getattr(self, f"_{service}_{_snake(operation)}", None)
            if handler is None:
                raise ServiceError(400, "UnknownOperationException", f"{service} {operation}")
            return handler(args, body)

    # --- Entity Resolution ---------------------------------------------------------------------------

    def _entityresolution_start_matching_job(self, args, body):
        job_id = uuid.uuid4().hex
        self.jobs[job_id] = {
            "jobId": job_id,
            "status": "SUCCEEDED",
            "startTime": _now(),
            "endTime": _now(),
            "metrics": {"inputRecords": 0, "totalRecordsProcessed": 0, "recordsNotProcessed": 0},
            "workflow": args["workflow"],
        }
        return 200, {"jobId": job_id}

    def _entityresolution_get_matching_job(self, args, body):
        job = self.jobs.get(args["job"])
        if job is None or job["workflow"] != args["workflow"]:
            raise ServiceError(404, "ResourceNotFoundException", f"no job {args['job']}")
        return 200, {key: value for key, value in job.items() if key != "workflow"}

    def _entityresolution_get_matching_workflow(self, args, body):
        name = args["workflow"]
        return 200, {
            "workflowName": name,
            "workflowArn": f"arn:aws:entityresolution:{REGION}:{ACCOUNT}:matchingworkflow/{name}",
            "inputSourceConfig": [],
            "outputSourceConfig": [
                {"outputS3Path": f"s3://adplan-lake/entity-resolution/{name}/", "output": []}
            ],
            "resolutionTechniques": {"resolutionType": "RULE_MATCHING"},
            "createdAt": _now(),
            "updatedAt": _now(),
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/adplan-entity-resolution",
        }

    # --- Clean Rooms ----------------------------------------------------------------------------------

    def _template_arn(self, membership: str, name: str) -> str:
        return f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}:membership/{membership}/analysistemplate/{name}-id"

    def _cleanrooms_list_analysis_templates(self, args, body):
        membership = args["membership"]
        summaries = [
            {
                "arn": self._template_arn(membership, name),
                "id": f"{name}-id",
                "name": name,
                "membershipId": membership,
                "membershipArn": f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}:membership/{membership}",
                "collaborationId": "collaboration-id",
                "collaborationArn": f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}:collaboration/collaboration-id",
                "createTime": _now(),
                "updateTime": _now(),
            }
            for name in self.analysis_templates
        ]
        return 200, {"analysisTemplateSummaries": summaries}

    def _cleanrooms_start_protected_query(self, args, body):
        query_id = str(uuid.uuid4())
        s3 = body["resultConfiguration"]["outputConfiguration"]["s3"]
        query = {
            "id": query_id,
            "membershipId": args["membership"],
            "membershipArn": f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}:membership/{args['membership']}",
            "createTime": _now(),
            "sqlParameters": body.get("sqlParameters") or {},
            "status": "SUCCESS",
            "resultConfiguration": body["resultConfiguration"],
            "result": {
                "output": {"s3": {"location": f"s3://{s3['bucket']}/{s3.get('keyPrefix', '')}{query_id}"}}
            },
        }
        self.queries[query_id] = query
        return 200, {"protectedQuery": query}

    def _cleanrooms_get_protected_query(self, args, body):
        query = self.queries.get(args["query"])
        if query is None:
            raise ServiceError(404, "ResourceNotFoundException", f"no protected query {args['query']}")
        return 200, {"protectedQuery": query}

    # --- QuickSight -----------------------------------------------------------------------------------

    def _ingestion_arn(self, args) -> str:
        return (
            f"arn:aws:quicksight:{REGION}:{args['account']}:dataset/{args['dataset']}"
            f"/ingestion/{args['ingestion']}"
        )

    def _quicksight_create_ingestion(self, args, body):
        key = f"{args['dataset']}/{args['ingestion']}"
        self.ingestions[key] = {
            "Arn": self._ingestion_arn(args),
            "IngestionId": args["ingestion"],
            "IngestionStatus": "COMPLETED",
            "CreatedTime": _now(),
            "RequestSource": "MANUAL",
        }
        return 201, {
            "Arn": self._ingestion_arn(args),
            "IngestionId": args["ingestion"],
            "IngestionStatus": "INITIALIZED",
            "Status": 201,
        }

    def _quicksight_describe_ingestion(self, args, body):
        ingestion = self.ingestions.get(f"{args['dataset']}/{args['ingestion']}")
        if ingestion is None:
            raise ServiceError(404, "ResourceNotFoundException", f"no ingestion {args['ingestion']}")
        return 200, {"Ingestion": ingestion, "Status": 200}

    # --- Step Functions -------------------------------------------------------------------------------

    def _sfn_start_execution(self, args, body):
        from adplan.creative.config import load_creative_config
        from adplan.creative.generator import LocalGenerator
        from adplan.creative.rounds import local_execution_output

        arn = body["stateMachineArn"].replace(":stateMachine:", ":execution:") + f":{body['name']}"
        if arn in self.executions:
            raise ServiceError(400, "ExecutionAlreadyExists", f"execution {body['name']} exists")
        execution_input = json.loads(body.get("input") or "{}")
        output = local_execution_output(LocalGenerator(load_creative_config()), execution_input)
        self.executions[arn] = {
            "executionArn": arn,
            "stateMachineArn": body["stateMachineArn"],
            "name": body["name"],
            "status": "SUCCEEDED",
            "startDate": _now(),
            "stopDate": _now(),
            "input": body.get("input") or "{}",
            "output": json.dumps(output),
        }
        return 200, {"executionArn": arn, "startDate": _now()}

    def _sfn_describe_execution(self, args, body):
        execution = self.executions.get(body["executionArn"])
        if execution is None:
            raise ServiceError(400, "ExecutionDoesNotExist", body["executionArn"])
        return 200, execution
