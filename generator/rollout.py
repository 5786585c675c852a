"""The rollout: which environments CI plans, deploys and checks, in which waves, with which roles.

The environment files are the only list. Each file says its wave (``deploy.wave``) and whether
a reviewer approves its deploys (``deploy.approval``); the workflows read this rollout as JSON
(``python -m generator environments --json``) and build their matrices from it with
``fromJSON``, so adding a file adds the environment to every workflow without editing one.

Everything is pure except ``environments`` (the command), which prints and writes
``$GITHUB_OUTPUT``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from generator import arns, naming
from generator.config import MAX_WAVES, Environment, load_environments
from generator.contracts import CHANGE_SET_ARN
from generator.errors import ExitCode, GeneratorError
from generator.regions import PARTITIONS
from generator.workspace import Workspace


@dataclass(frozen=True)
class RolloutTarget:
    """One environment as CI sees it: where it deploys, when, and with which roles.

    The roles (made by the ci-access stack, docs/security.md): ``plan_role_arn`` for pull
    requests (no ``--role-arn``: it cannot pass a role), ``plan_main_role_arn`` for the deploy
    workflow's plan jobs on main (keeps the change set, passes the CloudFormation role),
    ``deploy_role_arn`` for the apply jobs in the GitHub environment, ``drift_role_arn`` for the
    scheduled drift check, and the preview roles for environments with ``deploy.previews``.
    """

    name: str
    account: str
    region: str
    wave: int
    approval: bool
    emulator: bool
    previews: bool
    plan_role_arn: str
    plan_main_role_arn: str
    deploy_role_arn: str
    drift_role_arn: str
    cloudformation_role_arn: str
    preview_role_arn: str
    preview_cloudformation_role_arn: str


def partition(region: str) -> str:
    """The AWS partition of a region (its ARNs start ``arn:<partition>:``), as botocore's
    partitions data lists it (generator/regions.py); ``aws`` for a region it does not know."""
    return next((name for name, regions in PARTITIONS.items() if region in regions), "aws")


def role_arn(env: Environment, role_name: str) -> str:
    """The ARN of a role the CI access stack creates in the environment's account."""
    where = partition(env.region)
    return arns.arn("iam", f"role/{role_name}", region="", account=env.account_id, partition=where)


def target(env: Environment) -> RolloutTarget:
    """The rollout entry of one environment (role ARNs follow from naming and its account)."""
    return RolloutTarget(
        name=env.name,
        account=env.account_id,
        region=env.region,
        wave=env.deploy.wave,
        approval=env.deploy.approval,
        emulator=env.emulator,
        previews=env.deploy.previews,
        plan_role_arn=role_arn(env, naming.plan_role_name(env.name)),
        plan_main_role_arn=role_arn(env, naming.plan_main_role_name(env.name)),
        deploy_role_arn=role_arn(env, naming.deploy_role_name(env.name)),
        drift_role_arn=role_arn(env, naming.drift_role_name(env.name)),
        cloudformation_role_arn=role_arn(env, naming.cloudformation_role_name(env.name)),
        preview_role_arn=role_arn(env, naming.preview_role_name(env.name)),
        preview_cloudformation_role_arn=role_arn(
            env, naming.preview_cloudformation_role_name(env.name)
        ),
    )


def rollout(envs: Iterable[Environment], ci: bool = False) -> list[RolloutTarget]:
    """Every environment in rollout order (wave, then name); ``ci`` leaves out emulated ones."""
    targets = [target(env) for env in envs if not (ci and env.emulator)]
    return sorted(targets, key=lambda t: (t.wave, t.name))


def only(targets: Iterable[RolloutTarget], name: str) -> list[RolloutTarget]:
    """The one environment ``name`` (a manual deploy of one), or every one for ``all``."""
    targets = list(targets)
    if name == "all":
        return targets
    chosen = [t for t in targets if t.name == name]
    if not chosen:
        known = ", ".join(t.name for t in targets)
        raise ValueError(f"environment {name!r} is not in the rollout; expected all or one of: "
                         f"{known}")  # fmt: skip
    return chosen


def waves(targets: Iterable[RolloutTarget]) -> dict[int, list[RolloutTarget]]:
    """Each wave slot 1..MAX_WAVES and its environments (an empty list for an unused slot)."""
    slots: dict[int, list[RolloutTarget]] = {wave: [] for wave in range(1, MAX_WAVES + 1)}
    for item in targets:
        slots[item.wave].append(item)
    return slots


def as_dicts(targets: Iterable[RolloutTarget]) -> list[dict[str, Any]]:
    """The JSON form of targets: one object per environment, keys in a fixed order."""
    return [asdict(t) for t in targets]


def to_json(targets: Iterable[RolloutTarget]) -> str:
    """The rollout as the ``environments --json`` document: a sorted list, indented, newline."""
    return json.dumps(as_dicts(targets), indent=2) + "\n"


def compact(value: object) -> str:
    """One-line JSON, for a GitHub Actions output (``name=value`` lines)."""
    return json.dumps(value, separators=(",", ":"))


def github_outputs(targets: list[RolloutTarget]) -> dict[str, str]:
    """The job outputs the workflows read: every environment, their names, and each wave slot."""
    outputs = {
        "environments": compact(as_dicts(targets)),
        "names": compact([t.name for t in targets]),
        "previews": compact(as_dicts(t for t in targets if t.previews)),
    }
    for wave, members in waves(targets).items():
        outputs[f"wave{wave}"] = compact(as_dicts(members))
    return outputs


# --- kept plans: which environments of a wave have a change set waiting to be applied --------


def kept_plan_file(state_dir: Path, env: str) -> Path:
    """Where ``plan --keep`` records an environment's change set id (one line)."""
    return state_dir / f"plan-{env}.changeset"


def with_changes(targets: Iterable[RolloutTarget], kept: Mapping[str, str]) -> list[dict[str, Any]]:
    """The targets that have a kept change set, each with its ``change_set`` id. Pure."""
    return [{**asdict(t), "change_set": kept[t.name]} for t in targets if t.name in kept]


def read_kept(state_dir: Path, targets: Iterable[RolloutTarget]) -> dict[str, str]:
    """The change set ids that plan jobs recorded (no file: the plan found no changes); a file
    that holds anything but one change set ARN is an error naming it, never skipped."""
    kept = {}
    for item in targets:
        path = kept_plan_file(state_dir, item.name)
        if not path.exists():
            continue
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            text = f"(unreadable: {exc})"
        if not CHANGE_SET_ARN.match(text):
            raise GeneratorError(
                f"{path} holds {text[:80]!r}; expected the change set ARN `plan --keep` "
                f"recorded (delete the file and plan {item.name} again)",
                ExitCode.USAGE,
            )
        kept[item.name] = text
    return kept


def ci_names(envs: Iterable[Environment]) -> tuple[str, ...]:
    """The names of the environments CI deploys, in rollout order."""
    return tuple(t.name for t in rollout(envs, ci=True))


def ci_environments(directory: Path) -> tuple[str, ...]:
    """The environments CI deploys, read from the environment files in ``directory``."""
    return ci_names(load_environments(directory).values())


# --- the `environments` command -----------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentsRequest:
    """``environments``: what to show of the rollout, and where."""

    workspace: Workspace
    json: bool = False  # the JSON document instead of the table
    ci: bool = False  # leave out emulated environments
    only: str = "all"  # one environment, or all
    wave: int | None = None  # only this wave
    github_output: bool = False  # write the outputs to $GITHUB_OUTPUT
    kept_plans: Path | None = None  # with ``wave``: the wave's kept change sets in this folder


def table(targets: Iterable[RolloutTarget]) -> str:
    """The rollout as a table for people."""
    lines = [f"{'wave':<5} {'environment':<16} {'account':<13} {'region':<15} approval"]
    for t in targets:
        approval = "reviewer" if t.approval else "-"
        emulated = " (emulator)" if t.emulator else ""
        lines.append(
            f"{t.wave:<5} {t.name:<16} {t.account:<13} {t.region:<15} {approval}{emulated}"
        )
    return "\n".join(lines) + "\n"


def kept_plans_report(
    wave: int, members: list[RolloutTarget], kept: Mapping[str, str]
) -> list[str]:
    """What a wave's apply step will do, in Markdown: applied (maybe after approval) or nothing."""
    lines = [f"### Wave {wave}"]
    for t in members:
        if t.name not in kept:
            lines.append(f"- `{t.name}`: no changes; nothing to apply, no approval requested")
        elif t.approval:
            lines.append(f"- `{t.name}`: change set kept; waits for a reviewer in the GitHub "
                         f"environment `{t.name}`, then applies exactly it")  # fmt: skip
        else:
            lines.append(f"- `{t.name}`: change set kept; applies exactly it")
    return lines


def _write_outputs(outputs: Mapping[str, str]) -> None:
    """Append ``name=value`` lines to $GITHUB_OUTPUT (values are one-line JSON)."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        raise GeneratorError(
            "--github-output needs $GITHUB_OUTPUT (set by GitHub Actions); got nothing",
            ExitCode.USAGE,
        )
    with Path(target).open("a", encoding="utf-8") as handle:
        for key, value in outputs.items():
            handle.write(f"{key}={value}\n")


def _summary(lines: list[str]) -> None:
    for line in lines:
        print(line)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


def environments(request: EnvironmentsRequest) -> int:
    """Print the rollout (table or JSON) or write it as GitHub Actions outputs."""
    root = request.workspace.root
    envs = load_environments(root / naming.ENVIRONMENTS_DIR, None, root)
    targets = rollout(envs.values(), ci=request.ci)
    try:
        targets = only(targets, request.only)
    except ValueError as exc:
        raise GeneratorError(f"--only: {exc}", ExitCode.USAGE) from None
    if request.wave is not None:
        targets = [t for t in targets if t.wave == request.wave]
    if request.kept_plans is not None:
        if request.wave is None:
            raise GeneratorError("--kept-plans needs --wave N; got no wave", ExitCode.USAGE)
        kept = read_kept(request.kept_plans, targets)
        _summary(kept_plans_report(request.wave, targets, kept))
        if request.github_output:
            _write_outputs({"apply": compact(with_changes(targets, kept))})
        return ExitCode.OK
    if request.github_output:
        _write_outputs(github_outputs(targets))
    if request.json:
        sys.stdout.write(to_json(targets))
    elif not request.github_output:
        sys.stdout.write(table(targets))
    return ExitCode.OK
