"""Runs of the workflows, simulated: which jobs run, with which matrices, roles and environments.

GitHub's own packages do what they can (tests/workflows/github.py): parsing every workflow,
adding the implied success() to conditions, and evaluating every `if:`, matrix, `env:`, `with:`,
`environment:` and `outputs:` against the run's contexts. What is GitHub's runner and no package
models is written here, as small as possible:
- jobs run in file order once their `needs` have run; a job's status functions look at its
  `needs` (success(): all succeeded and the run is not cancelled; failure(): one failed), a
  step's at the steps before it;
- a job that calls a local reusable workflow (`uses: ./.github/workflows/x.yml`) runs that
  workflow's jobs with its evaluated `with:` as `inputs` and fails when one of them fails;
- `environments` steps run the real CLI over the run's environment files and write its outputs to
  the step's outputs; `plan`, `deploy`, `destroy`, `previews` and `status` are stood in for;
- a step of aws-actions/configure-aws-credentials records the role and the OIDC subject GitHub
  would put in the job's token: with the repository's subject customization (docs/ci.md)
  `repo:<repo>:<context>:job_workflow_ref:<repo>/.github/workflows/<file>@<ref>`, where the
  context is `environment:<name>` in a GitHub environment, else `pull_request` for pull request
  events, else `ref:<ref>`, and the file is the one that holds the job (the called workflow's
  for a job of a reusable workflow, called at the caller's ref).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from generator.cli import main
from generator.workspace import CHECKOUT
from tests.workflows.github import (
    Parsed,
    evaluate,
    evaluate_field,
    evaluate_many,
    parse_workflow,
)

WORKFLOWS = CHECKOUT / ".github" / "workflows"
REPOSITORY = "octo-org/serverlessapp-gitops"
PULL_REQUEST = 7
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"
LOCAL_WORKFLOW = re.compile(r"^\./\.github/workflows/([\w.-]+\.ya?ml)$")


def local_workflows() -> dict[str, str]:
    """Every workflow by repository path: what a job may call as `uses: ./.github/workflows/..`."""
    return {
        f".github/workflows/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted(WORKFLOWS.glob("*.yml"))
    }


@cache
def parsed(name: str) -> Parsed:
    """A workflow of .github/workflows through GitHub's parser (once per test process)."""
    return parse_workflow(WORKFLOWS / name, local_workflows())


def commands(script: str) -> list[list[str]]:
    """Each command line of a run script as words (continuations joined, comments dropped)."""
    lines = script.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


@dataclass(frozen=True)
class Credential:
    """One role a job assumed, and what GitHub's token said about the job."""

    job: str
    target: str  # the matrix entry's environment name
    role_arn: str
    region: str
    audience: str
    subject: str
    environment: str | None


@dataclass
class Run:
    """What one simulated run of a workflow did; a called workflow's job is `caller/job`."""

    planned: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    previewed: list[str] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    results: dict[str, str] = field(default_factory=dict)
    credentials: list[Credential] = field(default_factory=list)
    # The GitHub environment each job (matrix entry) ran in, by job and matrix name.
    environments: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How the stood-in commands end: where the run works and which environments misbehave."""

    root: Path
    blocked: tuple[str, ...]
    unchanged: tuple[str, ...]
    failing: tuple[str, ...]
    failing_make: tuple[str, ...] = ()  # make targets that fail (`make test`: the gates)


@contextmanager
def _github_output(path: Path) -> Iterator[None]:
    previous = os.environ.get("GITHUB_OUTPUT")
    os.environ["GITHUB_OUTPUT"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["GITHUB_OUTPUT"]
        else:
            os.environ["GITHUB_OUTPUT"] = previous


def environments_command(words: list[str], env: Mapping[str, str], root: Path) -> dict[str, str]:
    """Run an `environments ... --github-output` step through the CLI; return its outputs."""
    out = root / "github-output"
    out.write_text("", encoding="utf-8")
    argv = [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], w) for w in words[3:]]
    with _github_output(out):
        assert main([*argv, "--root", str(root)]) == 0, argv
    lines = out.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines)


def _kept_change_set(target: str) -> str:
    return (
        f"arn:aws:cloudformation:us-east-1:111111111111:changeSet/kept-{target}-abc/"
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    )


def _command(
    words: list[str], target: str, env: Mapping[str, str], run: Run, outcome: Outcome
) -> tuple[bool, dict[str, str]]:
    """One command of a run step: whether it failed, and the outputs it wrote."""
    verb = words[3] if words[:3] == ["python", "-m", "generator"] else None
    if words[0] == "make":
        return bool(set(words[1:]) & set(outcome.failing_make)), {}
    if verb == "environments":
        return False, environments_command(words, env, outcome.root)
    if verb == "plan":
        run.planned.append(target)
        if "--keep" in words and target not in outcome.unchanged:
            state = outcome.root / ".state"
            state.mkdir(exist_ok=True)
            (state / f"plan-{target}.changeset").write_text(
                _kept_change_set(target) + "\n", encoding="utf-8"
            )
        return target in outcome.blocked, {}
    if verb == "deploy" and "--preview" in words:
        assert env["PULL_REQUEST"] == str(PULL_REQUEST)
        run.previewed.append(target)
    elif verb == "destroy":
        assert "--preview" in words  # no workflow destroys an environment
        run.destroyed.append(target)
    elif verb == "previews":
        if "--destroy" in words:
            run.expired.append(target)
    elif verb == "deploy":
        assert env["CHANGE_SET"] == _kept_change_set(target)
        run.applied.append(target)
        return target in outcome.failing, {}
    elif verb == "status":
        run.checked.append(target)
    return False, {}


def subject(context: str, workflow: str, ref: str) -> str:
    """The `sub` claim of a job's OIDC token under the repository's subject customization."""
    workflow_ref = f"{REPOSITORY}/.github/workflows/{workflow}@{ref}"
    return f"repo:{REPOSITORY}:{context}:job_workflow_ref:{workflow_ref}"


def _oidc_context(github: Mapping[str, Any], environment: str | None) -> str:
    if environment:
        return f"environment:{environment}"
    if github["event_name"] in ("pull_request", "pull_request_target"):
        return "pull_request"
    return f"ref:{github['ref']}"


class _Simulation:
    def __init__(self, github: dict[str, Any], outcome: Outcome, cancel_after: str | None):
        self.github, self.outcome, self.cancel_after = github, outcome, cancel_after
        self.run, self.cancelled = Run(), False

    def workflow(self, workflow: Parsed, inputs: Mapping[str, Any], prefix: str = "") -> bool:
        """Run a workflow's jobs; whether one failed."""
        results: dict[str, str] = {}
        outputs: dict[str, dict[str, Any]] = {}
        for name in workflow.tree["jobs"]:
            job = workflow.jobs[name]
            assert set(job["needs"]) <= set(results), f"{workflow.name}: {name} before its needs"
            needs = {
                need: {"result": results[need], "outputs": outputs.get(need, {})}
                for need in job["needs"]
            }
            context = {"github": self.github, "inputs": dict(inputs), "needs": needs}
            needed = [need["result"] for need in needs.values()]
            status = {
                "success": not self.cancelled and all(r == "success" for r in needed),
                "failure": not self.cancelled and "failure" in needed,
                "cancelled": self.cancelled,
                "always": True,
            }
            if not evaluate(job["if"], context, status).truthy:
                results[name] = "skipped"
            elif job["type"] == "reusableWorkflowJob":
                results[name] = self._call(workflow, name, context, f"{prefix}{name}")
            else:
                failed, outputs[name] = self._job(workflow, name, context, f"{prefix}{name}")
                results[name] = "failure" if failed else "success"
            self.run.results[f"{prefix}{name}"] = results[name]
            self.cancelled = self.cancelled or f"{prefix}{name}" == self.cancel_after
        return "failure" in results.values()

    def _call(self, caller: Parsed, name: str, context: dict[str, Any], label: str) -> str:
        uses = caller.tree["jobs"][name]["uses"]
        match = LOCAL_WORKFLOW.match(uses)
        assert match, f"{caller.name}: {name} calls {uses}, not a local workflow"
        called = parsed(match.group(1))
        declared = called.tree["on"]["workflow_call"].get("inputs") or {}
        given = caller.tree["jobs"][name].get("with") or {}
        values = evaluate_field(caller, ["jobs", name, "with"], context).value if given else {}
        inputs = {k: values.get(k, spec.get("default")) for k, spec in declared.items()}
        failed = self.workflow(called, inputs, prefix=f"{label}/")
        return "cancelled" if self.cancelled else "failure" if failed else "success"

    def _job(
        self, workflow: Parsed, name: str, context: dict[str, Any], label: str
    ) -> tuple[bool, dict[str, Any]]:
        tree = workflow.tree["jobs"][name]
        include = (tree.get("strategy") or {}).get("matrix", {}).get("include")
        path: list[str | int] = ["jobs", name, "strategy", "matrix", "include"]
        entries = evaluate_field(workflow, path, context).value if include else [{}]
        assert isinstance(entries, list), f"{label}: matrix {entries!r}"
        assert entries, f"{label}: an empty matrix fails the run"
        failed_any = False
        step_outputs: dict[str, dict[str, str]] = {}
        for entry in entries:
            failed, step_outputs = self._entry(workflow, name, {**context, "matrix": entry}, label)
            failed_any = failed_any or failed
        outputs: dict[str, Any] = {}
        if tree.get("outputs"):
            steps = {step: {"outputs": values} for step, values in step_outputs.items()}
            path = ["jobs", name, "outputs"]
            outputs = evaluate_field(workflow, path, {**context, "steps": steps}).value
        return failed_any, outputs

    def _entry(
        self, workflow: Parsed, name: str, context: dict[str, Any], label: str
    ) -> tuple[bool, dict[str, dict[str, str]]]:
        """One matrix entry of a job: its steps in order."""
        tree = workflow.tree["jobs"][name]
        fields: list[tuple[str, list[str | int]]] = [
            (key, ["jobs", name, key]) for key in ("env", "environment") if key in tree
        ]
        values = dict(
            zip(
                [key for key, _ in fields],
                evaluate_many(
                    [{"name": workflow.name, "path": p, "context": context} for _, p in fields]
                ),
                strict=True,
            )
        )
        env = {k: str(v) for k, v in (values["env"].value if "env" in values else {}).items()}
        environment = values["environment"].value if "environment" in values else None
        if isinstance(environment, dict):
            environment = environment.get("name")
        target = str((context.get("matrix") or {}).get("name", ""))
        if environment is not None:
            self.run.environments[(label, target)] = str(environment)
        failed = False
        step_outputs: dict[str, dict[str, str]] = {}
        for index, step in enumerate(tree["steps"]):
            steps = {s: {"outputs": o} for s, o in step_outputs.items()}
            status = {"success": not failed and not self.cancelled, "failure": failed,
                      "cancelled": self.cancelled, "always": True}  # fmt: skip
            condition = workflow.jobs[name]["steps"][index]["if"]
            step_context = {**context, "steps": steps, "env": env}
            if not evaluate(condition, step_context, status).truthy:
                continue
            path: list[str | int] = ["jobs", name, "steps", index]
            if "uses" in step:
                if step["uses"].startswith(f"{CREDENTIALS_ACTION}@"):
                    given = evaluate_field(workflow, [*path, "with"], step_context).value
                    self._credential(workflow, label, target, given, environment)
                continue
            step_env = dict(env)
            if "env" in step:
                step_env.update(
                    {
                        k: str(v)
                        for k, v in evaluate_field(
                            workflow, [*path, "env"], step_context
                        ).value.items()
                    }
                )
            script = str(evaluate_field(workflow, [*path, "run"], step_context).value)
            written: dict[str, str] = {}
            for words in commands(script):
                command_failed, outputs = _command(words, target, step_env, self.run, self.outcome)
                failed = failed or command_failed
                written.update(outputs)
            if "id" in step:
                step_outputs[step["id"]] = written
        return failed, step_outputs

    def _credential(
        self,
        workflow: Parsed,
        label: str,
        target: str,
        given: Mapping[str, Any],
        environment: str | None,
    ) -> None:
        ref = self.github["ref"]
        self.run.credentials.append(
            Credential(
                job=label,
                target=target,
                role_arn=str(given["role-to-assume"]),
                region=str(given["aws-region"]),
                # configure-aws-credentials asks for this audience unless told otherwise.
                audience=str(given.get("audience", "sts.amazonaws.com")),
                subject=subject(_oidc_context(self.github, environment), workflow.name, ref),
                environment=environment,
            )
        )


def simulate(
    workflow: str,
    root: Path,
    *,
    event: str = "push",
    choice: str | None = None,
    ref: str | None = None,
    blocked: tuple[str, ...] = (),
    unchanged: tuple[str, ...] = (),
    failing: tuple[str, ...] = (),
    failing_make: tuple[str, ...] = (),
    cancel_after: str | None = None,
    head_repository: str = REPOSITORY,
    action: str = "synchronize",
    labels: tuple[str, ...] = (),
    label: str | None = None,
) -> Run:
    """Run a workflow's jobs as GitHub would, over ``root``'s environment files (``blocked``
    plans exit 3, ``unchanged`` plans keep no change set, ``failing`` deploys fail;
    ``cancel_after`` cancels the run once that job ran). ``ref`` defaults to what GitHub gives
    the event: a pull request's merge ref, else main."""
    pull_request = event in ("pull_request", "pull_request_target")
    ref = ref or (f"refs/pull/{PULL_REQUEST}/merge" if pull_request else "refs/heads/main")
    github: dict[str, Any] = {
        "ref": ref,
        "event_name": event,
        "repository": REPOSITORY,
        "run_id": "1",
        "event": {},
    }
    if pull_request:
        github["event"] = {
            "action": action,
            "label": {"name": label} if label else None,
            "pull_request": {
                "number": PULL_REQUEST,
                "head": {"repo": {"full_name": head_repository}, "sha": "a" * 40},
                "base": {"sha": "b" * 40},
                "labels": [{"name": name} for name in labels],
            },
        }
    inputs = {"environment": choice} if event == "workflow_dispatch" else {}
    outcome = Outcome(root, blocked, unchanged, failing, failing_make)
    simulation = _Simulation(github, outcome, cancel_after)
    simulation.workflow(parsed(workflow), inputs)
    return simulation.run
