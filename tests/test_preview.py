"""Preview stacks: names, limits, what a preview keeps (nothing) and how it is tagged. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from generator import naming, preview
from generator.cli import main
from generator.config import Environment, load_environments
from generator.contracts import ArtifactRef
from generator.errors import GeneratorError
from generator.render import to_json
from generator.stack import build_template

ARTIFACT = ArtifactRef(key="handler/" + "a" * 64 + ".zip", sha256="a" * 64)
# Properties that carry a physical name (or a name inside an ARN) in the app template.
NAME_PROPERTIES = {
    "BucketName", "FunctionName", "RoleName", "PolicyName", "QueueName", "TopicName",
    "AlarmName", "DashboardName", "AliasName", "Name", "LogGroupName",
}  # fmt: skip


@pytest.fixture(scope="session")  # one per worker, however xdist interleaves modules
def envs() -> dict[str, Environment]:
    return load_environments(Path(__file__).resolve().parents[1] / "environments")


def _template(env: Environment) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(to_json(build_template(env, ARTIFACT).to_dict()))
    return parsed


def _names(template: dict[str, Any]) -> set[str]:
    """Every physical name and export in a template (plain strings or Fn::Sub texts)."""
    found = set()
    for resource in template["Resources"].values():
        for key, value in (resource.get("Properties") or {}).items():
            # A Ref or GetAtt names a resource of the same template, not a physical name.
            if key in NAME_PROPERTIES and not (isinstance(value, dict) and "Ref" in value):
                found.add(json.dumps(value, sort_keys=True))
    for output in template.get("Outputs", {}).values():
        if "Export" in output:
            found.add(json.dumps(output["Export"]["Name"], sort_keys=True))
    return found


def test_the_longest_name_is_the_access_log_bucket() -> None:
    # serverlessapp-access-logs-<name>-<12-digit account> must fit S3's 63 characters.
    assert preview.longest_name_limit() == (24, "S3 bucket name")
    assert preview.max_preview_length("dev") == 20
    longest = preview.preview_name("dev", "a" * preview.max_preview_length("dev"))
    assert len(naming.access_log_bucket(longest, "123456789012")) == 63


@pytest.mark.parametrize("name", ["PR1", "pr_1", "-pr", "pr-", "pr--1", "", "pr 1", "prévu"])
def test_rejects_a_malformed_preview_name(name: str) -> None:
    with pytest.raises(GeneratorError, match="expected lowercase letters and digits"):
        preview.validate("dev", name)


def test_rejects_a_preview_name_too_long_for_a_bucket() -> None:
    with pytest.raises(GeneratorError, match=r"expected at most 20 for environment dev"):
        preview.validate("dev", "a" * 21)
    assert preview.validate("dev", "a" * 20) == "a" * 20


def test_rejects_a_preview_named_like_an_environment() -> None:
    with pytest.raises(GeneratorError, match="the name of an environment"):
        preview.validate("dev", "prod", ["dev", "prod"])


def test_a_preview_keeps_nothing_and_says_what_it_previews(envs: dict[str, Environment]) -> None:
    copy = preview.preview_environment(envs["prod"], "pr42", 42)
    assert copy.name == "prod-pr42"
    assert (copy.retain_data, copy.termination_protection) == (False, False)
    assert copy.function.reserved_concurrency is None  # no share of the account's concurrency
    assert copy.alarms.email is None
    assert copy.tags == {
        "CostCenter": "file-processing", "PreviewOf": "prod", "Preview": "pr42",
        "PullRequest": "42",
    }  # fmt: skip
    assert (copy.account_id, copy.region) == (envs["prod"].account_id, envs["prod"].region)
    assert envs["prod"].retain_data is True  # the base is untouched


def test_a_preview_of_a_preview_is_refused(envs: dict[str, Environment]) -> None:
    copy = preview.preview_environment(envs["dev"], "a", None)
    with pytest.raises(GeneratorError, match="is itself a preview"):
        preview.preview_environment(copy, "b", None)


@pytest.mark.parametrize("base", ["dev", "staging", "prod", "local"])
def test_no_physical_name_of_a_preview_is_the_base_environments(
    envs: dict[str, Environment], base: str
) -> None:
    env = envs[base]
    copy = preview.preview_environment(env, "pr1", 1)
    base_template, preview_template = _template(env), _template(copy)
    assert naming.stack_name(copy.name) == f"TapStack{base}-pr1"
    assert _names(base_template).isdisjoint(_names(preview_template))
    assert len(_names(preview_template)) == len(_names(base_template)) > 10
    # Nothing retained: every stateful resource goes with the stack.
    policies = {r.get("DeletionPolicy") for r in preview_template["Resources"].values()}
    assert "Retain" not in policies
    assert "RetainExceptOnCreate" not in policies


def test_the_preview_template_is_pure(envs: dict[str, Environment]) -> None:
    copy = preview.preview_environment(envs["dev"], "pr1", 1)
    assert to_json(build_template(copy, ARTIFACT).to_dict()) == to_json(
        build_template(preview.preview_environment(envs["dev"], "pr1", 1), ARTIFACT).to_dict()
    )
    assert "ExpiresAt" not in json.dumps(_template(copy))  # the clock stays out of templates


def test_expiry_comes_from_the_injected_clock_and_ttl() -> None:
    now = datetime(2026, 1, 31, 23, 0, 5, tzinfo=UTC)
    assert preview.expires_at(now, timedelta(hours=2)) == "2026-02-01T01:00:05Z"
    assert preview.stack_tags("2026-02-01T01:00:05Z") == {"ExpiresAt": "2026-02-01T01:00:05Z"}


def _stack(name: str, **tags: str) -> tuple[str, dict[str, str]]:
    return name, tags


def test_a_preview_is_known_by_its_name_and_its_tag() -> None:
    found = preview.as_preview(
        *_stack(
            "TapStackdev-pr1", PreviewOf="dev", PullRequest="1", ExpiresAt="2026-01-01T00:00:00Z"
        ),
        "dev",
    )
    assert found is not None
    assert (found.preview, found.pull_request) == ("pr1", "1")
    assert preview.as_preview(*_stack("TapStackdev-pr1"), "dev") is None  # no tag
    assert preview.as_preview(*_stack("TapStackdev", PreviewOf="dev"), "dev") is None
    assert preview.as_preview(*_stack("TapStackdevx-a", PreviewOf="dev"), "dev") is None


def test_expired_means_past_expires_at_or_unreadable() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    item = preview.as_preview(
        *_stack("TapStackdev-a", PreviewOf="dev", ExpiresAt="2026-01-01T00:00:01Z"), "dev"
    )
    assert item is not None
    assert not item.expired(now)
    assert item.expired(now + timedelta(seconds=1))
    broken = preview.as_preview(*_stack("TapStackdev-a", PreviewOf="dev", ExpiresAt="soon"), "dev")
    assert broken is not None
    assert broken.expired(now)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "--env", "dev", "--preview", "Bad_Name"], "expected lowercase letters"),
        (["deploy", "--env", "dev", "--preview", "prod"], "the name of an environment"),
        (["destroy", "--env", "dev", "--preview", "x" * 30, "--yes"], "expected at most 20"),
        (["deploy", "--env", "nosuchenv", "--preview", "pr1"], "nosuchenv.yaml"),
    ],
)
def test_the_cli_refuses_a_bad_preview_before_any_aws_call(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_previews_destroy_only_expired_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["previews", "--env", "dev", "--destroy"]) == 2
    assert "expected --expired" in capsys.readouterr().err
