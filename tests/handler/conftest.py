"""Handler test fixtures: the handler's folder on sys.path, a moto world, events and counters.

The root conftest's fake-credentials fixture still runs first for every test here.
"""

from __future__ import annotations

import copy
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

HANDLER_DIR = Path(__file__).resolve().parents[2] / "handler"
EVENTS_DIR = Path(__file__).resolve().parent / "events"
# The zip's root is the handler folder: tests import `app` and `fileproc` the way Lambda does.
if str(HANDLER_DIR) not in sys.path:
    sys.path.insert(0, str(HANDLER_DIR))

BUCKET = "serverlessapp-files-dev-123456789012"
PASSWORD = "s3cr3t-Pa55word-0123456789abcdef"  # 32 characters, like the generated one
ENV = {
    "BUCKET_NAME": BUCKET,
    "UPLOAD_PREFIX": "uploads/",
    "RESULTS_PREFIX": "processed/",
    "ENVIRONMENT": "dev",
    "SECRET_CACHE_SECONDS": "300",
    "POWERTOOLS_SERVICE_NAME": "ServerlessApp",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApp/Lambda",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

# The logger and metrics read their settings when created, at import, as in Lambda
# (where the environment is set before the module loads); only for the import, not the session.
with pytest.MonkeyPatch.context() as _patch:
    for _name, _value in ENV.items():
        _patch.setenv(_name, _value)
    import app
    from fileproc import aws


def load_event(name: str) -> dict[str, Any]:
    """A JSON event fixture from tests/handler/events/."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def object_event(
    key: str,
    size: int,
    *,
    version_id: str | None = None,
    etag: str | None = None,
    raw_key: str | None = None,
) -> dict[str, Any]:
    """The AWS ObjectCreated:Put fixture for one object (the key URL-encoded unless raw_key)."""
    from urllib.parse import quote_plus

    event = load_event("aws_object_created_put")
    obj = event["Records"][0]["s3"]["object"]
    obj["key"] = raw_key if raw_key is not None else quote_plus(key, safe="/")
    obj["size"] = size
    for name, value in (("versionId", version_id), ("eTag", etag)):
        if value is None:
            obj.pop(name, None)
        else:
            obj[name] = value
    return event


def combine(*events: dict[str, Any]) -> dict[str, Any]:
    """One event holding the records of several."""
    return {"Records": [copy.deepcopy(r) for e in events for r in e["Records"]]}


@dataclass
class FakeContext:
    """The attributes of a Lambda context that the handler's logger reads."""

    function_name: str = "ServerlessAppLambdadev"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:ServerlessAppLambdadev"
    )
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"


@dataclass
class World:
    """A moto account with the versioned data bucket and the signing secret."""

    s3: Any
    secrets: Any
    secret_arn: str
    calls: list[str] = field(default_factory=list)

    def put(self, key: str, body: bytes, **extra: Any) -> dict[str, Any]:
        """Upload an object; returns PutObject's response (VersionId, ETag)."""
        return dict(self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, **extra))

    def event_for(self, key: str, body: bytes, **extra: Any) -> dict[str, Any]:
        """Upload an object and return the event S3 would send for it."""
        put = self.put(key, body, **extra)
        return object_event(
            key, len(body), version_id=put.get("VersionId"), etag=put["ETag"].strip('"')
        )

    def result(self, result_key: str) -> dict[str, Any]:
        """A result document, parsed."""
        body = self.s3.get_object(Bucket=BUCKET, Key=result_key)["Body"].read()
        return dict(json.loads(body))

    def result_keys(self) -> list[str]:
        """Every key under the results prefix."""
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix="processed/")
        return sorted(o["Key"] for o in listing.get("Contents", []))

    def invoke(self, event: Any) -> dict[str, Any]:
        """Run the Lambda entry point as Lambda would."""
        return dict(app.lambda_handler(event, FakeContext()))

    def count_calls(self) -> list[str]:
        """Record every AWS API call the handler's clients make from now on."""

        def record(model: Any, **_: Any) -> None:
            self.calls.append(model.name)

        for client in (aws.s3_client(), aws.secrets_client()):
            client.meta.events.register("before-call", record)
        return self.calls


def inject_error(
    client: Any, operation: str, code: str, status: int, times: int | None = None
) -> Callable[[], int]:
    """Make ``client``'s ``operation`` fail with ``code`` (botocore short-circuit, no network)."""
    seen = {"count": 0}

    class _Http:
        status_code = status
        headers: dict[str, str] = {}  # noqa: RUF012 -- mirrors botocore's response shape

    def respond(model: Any, **_: Any) -> Any:
        if model.name != operation or (times is not None and seen["count"] >= times):
            return None
        seen["count"] += 1
        error = {"Error": {"Code": code, "Message": f"injected {code}"}}
        return _Http(), {**error, "ResponseMetadata": {"HTTPStatusCode": status}}

    client.meta.events.register("before-call", respond)
    return lambda: seen["count"]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """moto S3 (versioned bucket) and Secrets Manager, and the handler's environment."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        secret_arn = secrets.create_secret(
            Name="ServerlessApp/dev/app",
            SecretString=json.dumps({"username": "admin", "password": PASSWORD}),
        )["ARN"]
        for name, value in {**ENV, "SECRET_ARN": secret_arn}.items():
            monkeypatch.setenv(name, value)
        aws.reset()
        app.settings.cache_clear()
        try:
            yield World(s3=s3, secrets=secrets, secret_arn=secret_arn)
        finally:
            aws.reset()
            app.settings.cache_clear()
            app.metrics.clear_metrics()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the handler's JSON logger writes (it holds the stdout of import time)."""
    buffer = io.StringIO()
    handler = app.logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


def emf_lines(output: str) -> list[dict[str, Any]]:
    """The embedded-metric-format documents printed to stdout."""
    docs = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            docs.append(json.loads(line))
    return docs


def metric_totals(output: str) -> dict[str, float]:
    """Sum of each metric over every EMF document in ``output``."""
    totals: dict[str, float] = {}
    for doc in emf_lines(output):
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
    return totals
