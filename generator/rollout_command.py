"""``environments``: the rollout (each environment, its wave and roles) for people and CI."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from generator import naming, rollout
from generator.config import MAX_WAVES, load_environments
from generator.errors import ExitCode, GeneratorError

ROOT = Path(__file__).resolve().parents[1]


def _table(targets: list[rollout.Target]) -> str:
    lines = [f"{'wave':<5} {'environment':<16} {'account':<13} {'region':<15} approval"]
    for t in targets:
        approval = "reviewer" if t.approval else "-"
        emulated = " (emulator)" if t.emulator else ""
        lines.append(
            f"{t.wave:<5} {t.name:<16} {t.account:<13} {t.region:<15} {approval}{emulated}"
        )
    return "\n".join(lines) + "\n"


def _write_outputs(outputs: dict[str, str]) -> None:
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


def kept_plans_report(wave: int, members: list[rollout.Target], kept: dict[str, str]) -> list[str]:
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


def run(args: argparse.Namespace) -> int:
    """Print the rollout (table or JSON) or write it as GitHub Actions outputs."""
    root = Path(args.root)
    envs = load_environments(root / naming.ENVIRONMENTS_DIR, None, root)
    targets = rollout.rollout(envs.values(), ci=args.ci)
    try:
        targets = rollout.only(targets, args.only)
    except ValueError as exc:
        raise GeneratorError(f"--only: {exc}", ExitCode.USAGE) from None
    if args.wave is not None:
        targets = [t for t in targets if t.wave == args.wave]
    if args.kept_plans is not None:
        if args.wave is None:
            raise GeneratorError("--kept-plans needs --wave N; got no wave", ExitCode.USAGE)
        kept = rollout.read_kept(Path(args.kept_plans), targets)
        _summary(kept_plans_report(args.wave, targets, kept))
        if args.github_output:
            _write_outputs({"apply": rollout.compact(rollout.with_changes(targets, kept))})
        return ExitCode.OK
    if args.github_output:
        _write_outputs(rollout.github_outputs(targets))
    if args.json:
        sys.stdout.write(rollout.to_json(targets))
    elif not args.github_output:
        sys.stdout.write(_table(targets))
    return ExitCode.OK


def _wave(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_WAVES:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a wave from 1 to {MAX_WAVES}")
    return value


def register(sub: Any) -> None:
    """Add ``environments``."""
    parser = sub.add_parser(
        "environments",
        help="list the environments in rollout order (waves), as a table or JSON",
        description="Every environment file in rollout order: wave, then name. The workflows "
        "build their matrices from `--json --ci` (the emulated environment is left out).",
    )
    parser.add_argument("--json", action="store_true", help="print the rollout as JSON")
    parser.add_argument(
        "--ci", action="store_true", help="only what CI deploys (leave out emulated environments)"
    )
    parser.add_argument(
        "--only", default="all", metavar="ENV", help="only this environment (default: all)"
    )
    parser.add_argument("--wave", type=_wave, default=None, help="only this wave")
    parser.add_argument(
        "--github-output",
        action="store_true",
        help="write the rollout to $GITHUB_OUTPUT: environments, names, wave1..wave"
        f"{MAX_WAVES} (one-line JSON lists)",
    )
    parser.add_argument(
        "--kept-plans",
        metavar="DIR",
        help="with --wave: the wave's environments that have a change set kept in DIR "
        "(plan-ENV.changeset); written as output `apply` and summarised",
    )
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    parser.set_defaults(func=run)
