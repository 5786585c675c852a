"""The ``rotate`` command's domain functions, with a fake Secrets Manager client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.config import load_environments
from generator.emulator.rotation_model import configure_rotation
from generator.errors import ExitCode, GeneratorError
from generator.workload import current_version, rotate_now
from tests.deploy.conftest import FakeClock

ENV = load_environments(Path("environments"), ["local"])["local"]
ARN = "arn:aws:lambda:us-east-1:123456789012:function:ServerlessAppSecretRotationlocal"


class FakeSecrets:
    """DescribeSecret answers in turn; RotateSecret is recorded."""

    def __init__(self, *describes: dict[str, Any]) -> None:
        self.describes = list(describes)
        self.rotations: list[dict[str, Any]] = []

    def describe_secret(self, SecretId: str) -> dict[str, Any]:
        return self.describes.pop(0) if len(self.describes) > 1 else self.describes[0]

    def rotate_secret(self, **request: Any) -> dict[str, Any]:
        self.rotations.append(request)
        return {"VersionId": "new"}


def described(stages: dict[str, list[str]], enabled: bool = True) -> dict[str, Any]:
    return {"RotationEnabled": enabled, "RotationLambdaARN": ARN if enabled else "",
            "VersionIdsToStages": stages}  # fmt: skip


def test_rotate_now_names_the_function_and_waits_for_awscurrent() -> None:
    fake = FakeSecrets(
        described({"old": ["AWSCURRENT"]}),
        described({"old": ["AWSCURRENT"], "new": ["AWSPENDING"]}),
        described({"old": ["AWSPREVIOUS"], "new": ["AWSCURRENT", "AWSPENDING"]}),
        described({"old": ["AWSPREVIOUS"], "new": ["AWSCURRENT"]}),
    )
    clock = FakeClock()
    rotation = rotate_now(fake, ENV, clock=clock)
    assert (rotation.previous_version, rotation.current_version) == ("old", "new")
    assert fake.rotations == [
        {"SecretId": "ServerlessApp/local/app", "RotationLambdaARN": ARN, "RotateImmediately": True}
    ]
    assert clock.sleeps == [1.0, 1.0]


def test_rejects_rotating_a_secret_without_a_rotation_function() -> None:
    fake = FakeSecrets(described({"old": ["AWSCURRENT"]}, enabled=False))
    with pytest.raises(GeneratorError, match=r"secret.rotation_days above 0") as raised:
        rotate_now(fake, ENV)
    assert raised.value.exit_code == ExitCode.FAILED
    assert fake.rotations == []


def test_fails_with_a_timeout_naming_the_log_group_when_the_key_does_not_move() -> None:
    fake = FakeSecrets(described({"old": ["AWSCURRENT"], "new": ["AWSPENDING"]}))
    clock = FakeClock()
    with pytest.raises(GeneratorError, match="ServerlessAppSecretRotationlocal") as raised:
        rotate_now(fake, ENV, timeout_seconds=60, clock=clock)
    assert raised.value.exit_code == ExitCode.TIMED_OUT
    assert sum(clock.sleeps) == 60


def test_current_version_reads_the_awscurrent_label() -> None:
    assert current_version({"a": ["AWSPREVIOUS"], "b": ["AWSCURRENT", "x"]}) == "b"
    assert current_version({"a": []}) is None


def test_rotation_schedule_model_records_what_describe_secret_shows() -> None:
    class Secret:
        pass

    secret = Secret()
    configure_rotation(secret, ARN, 30, now=1000.0)
    assert vars(secret) == {
        "rotation_lambda_arn": ARN, "auto_rotate_after_days": 30, "rotation_enabled": True,
        "rotation_requested": True, "next_rotation_date": 1000 + 30 * 86400,
    }  # fmt: skip
    configure_rotation(secret, "", 0, now=1000.0)
    assert (secret.rotation_enabled, secret.rotation_requested) == (False, False)  # type: ignore[attr-defined]


def test_rotate_command_builds_a_typed_request_for_the_domain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from generator import workload
    from generator.cli import main

    seen: list[workload.RotateRequest] = []

    def rotate(request: workload.RotateRequest, runtime: object) -> int:
        seen.append(request)
        return ExitCode.OK

    monkeypatch.setattr(workload, "rotate", rotate)
    argv = ["rotate", "--root", str(tmp_path), "--env", "dev", "--profile", "ops",
            "--endpoint-url", "http://127.0.0.1:5000", "--timeout-seconds", "7"]  # fmt: skip
    assert main(argv) == ExitCode.OK
    [request] = seen
    assert (request.workspace.root, request.env, request.profile) == (tmp_path, "dev", "ops")
    assert (request.endpoint_url, request.timeout_seconds) == ("http://127.0.0.1:5000", 7.0)


def test_rotate_defaults_to_the_local_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from generator import workload
    from generator.cli import main

    seen: list[workload.RotateRequest] = []
    monkeypatch.setattr(workload, "rotate", lambda request, runtime: seen.append(request) or 0)
    assert main(["rotate", "--root", str(tmp_path)]) == 0
    assert (seen[0].env, seen[0].profile, seen[0].timeout_seconds) == ("local", None, 60.0)
