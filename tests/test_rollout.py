"""The rollout: environment files are the only list of what CI plans, deploys and checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator import rollout
from generator.cli import main
from generator.config import (
    MAX_WAVES,
    ConfigError,
    Environment,
    load_environments,
    parse_environment,
)

VALID = {"account_id": "123456789012", "region": "us-east-1"}


def _env(name: str, **deploy: object) -> Environment:
    return parse_environment(name, {**VALID, "deploy": deploy}, f"{name}.yaml")


@pytest.fixture
def workspace(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the repository's environment files."""
    shutil.copytree(repo_root / "environments", tmp_path / "environments")
    return tmp_path


def _ci_environments(repo_root: Path) -> dict[str, Environment]:
    """The committed environments CI deploys (every file but the emulator's), by name."""
    envs = load_environments(repo_root / "environments")
    return {name: env for name, env in envs.items() if not env.emulator}


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    assert main(["environments", "--json", *argv]) == 0
    data: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return data


def test_wave_defaults_to_one_and_approval_to_false() -> None:
    env = parse_environment("dev", VALID, "dev.yaml")
    assert (env.deploy.wave, env.deploy.approval) == (1, False)


@pytest.mark.parametrize("wave", [0, MAX_WAVES + 1, "first"])
def test_rejects_a_wave_outside_the_workflow_slots(wave: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_environment("dev", {**VALID, "deploy": {"wave": wave}}, "dev.yaml")
    (problem,) = info.value.problems
    assert problem.field == "deploy.wave"


def test_rejects_a_misspelled_rollout_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_environment("dev", {**VALID, "deploy": {"waves": 2}}, "dev.yaml")
    assert info.value.problems[0].field == "deploy.waves"


def test_orders_by_wave_then_name() -> None:
    envs = [_env("b", wave=2), _env("c", wave=1), _env("a", wave=2)]
    assert [t.name for t in rollout.rollout(envs)] == ["c", "a", "b"]


def test_ci_rollout_leaves_out_the_emulator(repo_root: Path) -> None:
    envs = load_environments(repo_root / "environments")
    every = [t.name for t in rollout.rollout(envs.values())]
    assert "local" in every
    ci = rollout.ci_names(envs.values())
    assert ci == tuple(name for name in every if not envs[name].emulator)
    assert "local" not in ci


def test_role_arns_follow_from_the_account_region_partition_and_naming() -> None:
    env = parse_environment("gov", {"account_id": "123456789012", "region": "us-gov-west-1"}, "g")
    t = rollout.target(env)
    assert t.plan_role_arn == "arn:aws-us-gov:iam::123456789012:role/ServerlessAppCiPlanRolegov"
    assert t.deploy_role_arn.endswith(":role/ServerlessAppCiDeployRolegov")
    # Issue 10's split: PR plans, main's kept plans, drift and apply each have their own role.
    assert t.plan_main_role_arn == (
        "arn:aws-us-gov:iam::123456789012:role/ServerlessAppCiPlanMainRolegov"
    )
    assert t.drift_role_arn == "arn:aws-us-gov:iam::123456789012:role/ServerlessAppCiDriftRolegov"
    assert rollout.partition("cn-north-1") == "aws-cn"
    assert rollout.partition("eu-west-1") == "aws"


def test_every_wave_slot_is_an_output_even_when_empty() -> None:
    outputs = rollout.github_outputs(rollout.rollout([_env("a", wave=2)]))
    assert [k for k in outputs if k.startswith("wave")] == [
        f"wave{n}" for n in range(1, MAX_WAVES + 1)
    ]
    assert outputs["wave1"] == "[]"
    assert [t["name"] for t in json.loads(outputs["wave2"])] == ["a"]
    assert "\n" not in "".join(outputs.values())  # one `name=value` line each


def test_only_picks_one_environment_or_all() -> None:
    targets = rollout.rollout([_env("a"), _env("b", wave=2)])
    assert [t.name for t in rollout.only(targets, "b")] == ["b"]
    assert rollout.only(targets, "all") == targets
    with pytest.raises(ValueError, match="'c' is not in the rollout; expected all or one of: a, b"):
        rollout.only(targets, "c")


def test_json_is_sorted_and_stable(capsys: pytest.CaptureFixture[str], repo_root: Path) -> None:
    first = _cli_json(capsys, "--ci")
    order = [(e["wave"], e["name"]) for e in first]
    assert order == sorted(order)
    names = [e["name"] for e in first]
    assert set(names) == set(_ci_environments(repo_root))
    assert names.index("dev") < names.index("staging") < names.index("prod")  # the promotion
    assert set(first[0]) >= {"name", "account", "region", "wave", "approval", "emulator"}
    assert first == _cli_json(capsys, "--ci")


def test_prod_waits_for_a_reviewer(capsys: pytest.CaptureFixture[str], repo_root: Path) -> None:
    approval = {e["name"]: e["approval"] for e in _cli_json(capsys, "--ci")}
    envs = _ci_environments(repo_root)
    assert approval == {name: env.deploy.approval for name, env in envs.items()}
    assert (approval["dev"], approval["staging"], approval["prod"]) == (False, False, True)


def test_a_new_file_joins_the_rollout(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prod = (workspace / "environments" / "prod.yaml").read_text(encoding="utf-8")
    eu = prod.replace("region: us-west-2", "region: eu-west-1")
    (workspace / "environments" / "prodeu.yaml").write_text(eu, encoding="utf-8")
    data = _cli_json(capsys, "--ci", "--root", str(workspace))
    assert [(e["name"], e["region"], e["wave"]) for e in data][-2:] == [
        ("prod", "us-west-2", 3),
        ("prodeu", "eu-west-1", 3),
    ]


def test_github_output_writes_every_wave(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    repo_root: Path,
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert main(["environments", "--ci", "--github-output"]) == 0
    lines = dict(line.split("=", 1) for line in out.read_text(encoding="utf-8").splitlines())
    envs = _ci_environments(repo_root)
    names = json.loads(lines["names"])
    assert names == list(rollout.ci_names(envs.values()))
    wave3 = [e["name"] for e in json.loads(lines["wave3"])]
    assert "prod" in wave3
    assert wave3 == [name for name in names if envs[name].deploy.wave == 3]
    assert capsys.readouterr().out == ""


def test_github_output_needs_github(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    assert main(["environments", "--ci", "--github-output"]) == 2


def test_rejects_an_unknown_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["environments", "--ci", "--only", "nosuchenv"]) == 2
    assert "'nosuchenv' is not in the rollout" in capsys.readouterr().err


KEPT = (
    "arn:aws:cloudformation:us-east-1:123456789012:changeSet/kept-prod-abc-20260301T120000000Z-0a0b0c/"
    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
)


def test_kept_plans_list_only_environments_with_a_change_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / ".state"
    state.mkdir()
    (state / "plan-prod.changeset").write_text(KEPT + "\n", encoding="utf-8")
    out, summary = tmp_path / "out", tmp_path / "summary"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    argv = ["environments", "--ci", "--wave", "3", "--kept-plans", str(state), "--github-output"]
    assert main(argv) == 0
    key, value = out.read_text(encoding="utf-8").strip().split("=", 1)
    (entry,) = json.loads(value)
    assert (key, entry["name"]) == ("apply", "prod")
    assert entry["change_set"] == KEPT
    assert "waits for a reviewer" in summary.read_text(encoding="utf-8")


@pytest.mark.parametrize("content", ["", "arn:aws:cloudformation:cs/1", "not\xffutf8"])
def test_a_damaged_kept_plan_record_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    record = tmp_path / "plan-prod.changeset"
    record.write_bytes(content.encode("latin-1"))
    argv = ["environments", "--ci", "--wave", "3", "--kept-plans", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(record) in err
    assert "expected the change set ARN `plan --keep` recorded" in err


def test_a_wave_without_changes_applies_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    argv = ["environments", "--ci", "--wave", "1", "--kept-plans", str(tmp_path), "--github-output"]
    assert main(argv) == 0
    assert out.read_text(encoding="utf-8") == "apply=[]\n"
    assert "`dev`: no changes; nothing to apply" in capsys.readouterr().out


def test_kept_plans_need_a_wave(tmp_path: Path) -> None:
    assert main(["environments", "--ci", "--kept-plans", str(tmp_path)]) == 2


def test_every_role_arn_of_the_rollout_names_a_role_of_the_ci_access_template(
    repo_root: Path,
) -> None:
    from generator.config import load_environments

    template = json.loads((repo_root / "templates" / "ci-access.json").read_text("utf-8"))
    roles = {
        r["Properties"]["RoleName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
    }
    envs = load_environments(repo_root / "environments")
    for t in rollout.rollout(envs.values(), ci=True):
        arns = [
            t.plan_role_arn,
            t.plan_main_role_arn,
            t.deploy_role_arn,
            t.drift_role_arn,
            t.cloudformation_role_arn,
        ]
        if t.previews:
            arns += [t.preview_role_arn, t.preview_cloudformation_role_arn]
        for arn in arns:
            assert arn.startswith(f"arn:aws:iam::{t.account}:role/"), arn
            assert arn.split(":role/", 1)[1] in roles, (t.name, arn)
