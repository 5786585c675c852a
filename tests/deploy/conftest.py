"""Fixtures for the deploy tests: a tiny repo, a fake clock, a fake artifact, recorded responses."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from generator import cli as main_cli
from generator.contracts import ArtifactFile
from generator.deploy.aws import Clients
from generator.deploy.runtime import Runtime, default_runtime
from generator.emulator import moto_fixes

FIXTURES = Path(__file__).parent / "fixtures"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
# A factory of stubbed clients: service name -> (client, its Stubber).
Make = Callable[[str], tuple[Any, Stubber]]
_TIME_KEYS = {"Timestamp", "CreationTime", "LastUpdatedTime", "LastUpdatedTimestamp"}


class FakeClock:
    """Time that passes only when someone sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def make_artifact(
    directory: Path, content: bytes = b"def lambda_handler(e, c):\n    return e\n"
) -> ArtifactFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("app.py", date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, content)
    data = buffer.getvalue()
    path = directory / "handler.zip"
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    return ArtifactFile(path=path, sha256=sha, size=len(data), key=f"handler/{sha}.zip")


def app_template(
    env: str, artifact: ArtifactFile, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A small stand-in for the app stack: a data bucket and a queue (moto creates both)."""
    resources: dict[str, Any] = {
        "DataBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": f"serverlessapp-files-{env}-{ACCOUNT}"},
        },
        "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
    }
    resources.update(extra or {})
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Metadata": {
            "ServerlessApp": {
                "environment": env,
                "handlerSha256": artifact.sha256,
                "handlerKey": artifact.key,
            }
        },
        "Resources": resources,
    }


BOOTSTRAP_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "ArtifactBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": {
                    "Fn::Sub": "serverlessapp-artifacts-${AWS::AccountId}-${AWS::Region}"
                }
            },
        }
    },
    "Outputs": {"ArtifactBucketName": {"Value": {"Ref": "ArtifactBucket"}}},
}


@dataclass
class Repo:
    """A throwaway repository root with environments and templates."""

    root: Path
    artifact: ArtifactFile
    clock: FakeClock
    lines: list[str] = field(default_factory=list)
    runtime: Runtime = field(default_factory=default_runtime)

    def write_env(self, name: str, text: str) -> None:
        (self.root / "environments" / f"{name}.yaml").write_text(text, encoding="utf-8")

    def write_template(self, env: str, template: dict[str, Any]) -> None:
        path = self.root / "templates" / f"{env}.json"
        path.write_text(json.dumps(template, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def run(self, *argv: str) -> int:
        """Run the CLI in this repo; output lines collect in ``lines``."""
        self.lines.clear()
        return main_cli.main([*argv, "--root", str(self.root)], runtime=self.runtime)

    def use(self, **changes: Any) -> None:
        """Replace parts of the runtime the CLI runs with (clients, clock, ...)."""
        self.runtime = replace(self.runtime, **changes)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


DEV_ENV = (
    f'account_id: "{ACCOUNT}"\nregion: {REGION}\nretain_data: false\n'
    "termination_protection: false\n"
)


@pytest.fixture
def aws() -> Iterator[None]:
    """Every AWS call of the test goes to moto, in-process.

    With the emulator's two fixes a kept plan is judged by (GetTemplate of a change set,
    LastUpdatedTime), which plain moto gets wrong.
    """
    with mock_aws(), moto_fixes.installed():
        yield


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A repo with environment ``dev`` (moto's account) and small templates; hooks faked."""
    (tmp_path / "environments").mkdir()
    (tmp_path / "templates").mkdir()
    artifact = make_artifact(tmp_path)
    result = Repo(tmp_path, artifact, FakeClock())
    result.write_env("dev", DEV_ENV)
    result.write_template("dev", app_template("dev", artifact))
    (tmp_path / "templates" / "bootstrap.json").write_text(
        json.dumps(BOOTSTRAP_TEMPLATE, indent=2), encoding="utf-8"
    )
    result.use(artifact=lambda root: result.artifact, clock=result.clock, out=result.lines.append)
    # Its templates are hand-written stand-ins, never what `synth` writes.
    result.use(stale=lambda root, env, built: [])
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("SERVERLESSAPP_STATE_DIR", raising=False)  # state under the repo's .state
    monkeypatch.setenv("GITHUB_SHA", "f" * 40)
    return result


# --------------------------------------------------------------------- recorded responses


def _revive(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: datetime.fromisoformat(v) if k in _TIME_KEYS and isinstance(v, str) else _revive(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_revive(v) for v in value]
    return value


def recorded(name: str) -> Any:
    """A recorded response (JSON under fixtures/, ISO times turned back into datetimes)."""
    return _revive(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


@pytest.fixture
def stubbed() -> Iterator[Callable[[str], tuple[Any, Stubber]]]:
    """Make a real client with a Stubber; every stub is checked as used at the end."""
    stubbers: list[Stubber] = []

    def make(service: str) -> tuple[Any, Stubber]:
        client = boto3.client(service, region_name=REGION)
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return client, stubber

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def stack(status: str, name: str = "TapStackdev", **extra: Any) -> dict[str, Any]:
    """A DescribeStacks response for one stack."""
    body = {
        "StackName": name,
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/abc",
        "StackStatus": status,
        "CreationTime": datetime.fromisoformat("2025-01-01T00:00:00+00:00"),
        **extra,
    }
    return {"Stacks": [body]}


def stub_clients(cfn: Any, s3: Any = None, sts: Any = None) -> Clients:
    """Clients made of stubbed (or moto) clients."""
    return Clients(cloudformation=cfn, s3=s3, sts=sts, region=REGION)


def status_session(repo: Repo, stubbed: Make) -> Stubber:
    """``status --env dev`` wired to stubs: the caller is in dev's account, and the stack runs the
    committed template, settled; returns CloudFormation's stubber for what follows."""
    cfn, cfn_stub = stubbed("cloudformation")
    sts, sts_stub = stubbed("sts")
    sts_stub.add_response(
        "get_caller_identity",
        {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:role/plan", "UserId": "AROA"},
    )
    repo.use(clients=lambda connection, env: stub_clients(cfn, None, sts))
    body = (repo.root / "templates" / "dev.json").read_bytes()
    tags = [{"Key": "template-sha256", "Value": hashlib.sha256(body).hexdigest()}]
    cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", Tags=tags))
    # The stack policy protects the one stateful resource.
    resource = {
        "LogicalResourceId": "DataBucket",
        "PhysicalResourceId": "b",
        "ResourceType": "AWS::S3::Bucket",
        "ResourceStatus": "CREATE_COMPLETE",
        "LastUpdatedTimestamp": "2025-03-01T12:00:00Z",
    }
    cfn_stub.add_response("list_stack_resources", {"StackResourceSummaries": [resource]})
    deny = {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*"}
    policy = {"Statement": [{**deny, "Resource": ["LogicalResourceId/DataBucket"]}]}
    cfn_stub.add_response("get_stack_policy", {"StackPolicyBody": json.dumps(policy)})
    cfn_stub.add_response("list_change_sets", {"Summaries": []})
    return cfn_stub
