"""``plan``, ``deploy``, ``status`` and ``destroy``: one environment's stack through change sets."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import connect
from generator.cli.common import add_connection, add_root, connection
from generator.contracts import CHANGE_SET_ARN, PREVIEW_TTL_HOURS

if TYPE_CHECKING:
    from generator.deploy.pipeline import ChangeOptions, PreviewOptions, StackTarget
    from generator.deploy.runtime import Runtime


def _at_least_one(what: str) -> Callable[[str], int]:
    """An argparse type: a whole number >= 1, the error naming ``what`` it counts."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"got {text!r}; expected {what} >= 1")
        return value

    return parse


_minutes = _at_least_one("a whole number of minutes")
_positive = _at_least_one("a whole number")


_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]+:role/[\w+=,.@/-]+$")


def _role_arn(text: str) -> str:
    """An IAM role ARN."""
    if not _ROLE_ARN.match(text):
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected an IAM role ARN such as arn:aws:iam::123456789012:role/Name"
        )
    return text


def _change_set_id(text: str) -> str:
    """A change set ARN (``deploy --change-set "$(cat .state/plan-ENV.changeset)"`` with the
    file missing passes "": that must not mean "plan and deploy the working tree")."""
    if not CHANGE_SET_ARN.match(text.strip()):
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected the change set ARN `plan --keep` printed and recorded in "
            ".state/plan-ENV.changeset (arn:aws:cloudformation:REGION:ACCOUNT:changeSet/NAME/ID)"
        )
    return text.strip()


# ------------------------------------------------------------------------ arguments -> requests


def _target(args: argparse.Namespace) -> StackTarget:
    from generator.deploy.pipeline import StackTarget

    return StackTarget(connection(args), args.env, args.timeout_minutes, _preview(args))


def _preview(args: argparse.Namespace) -> PreviewOptions | None:
    """``--preview NAME``, with ``--pull-request`` and ``--ttl-hours`` where given."""
    from generator.deploy.pipeline import PreviewOptions

    if not args.preview:
        return None
    options = PreviewOptions(args.preview, getattr(args, "pull_request", None))
    ttl = getattr(args, "ttl_hours", None)
    return options if ttl is None else PreviewOptions(options.name, options.pull_request, ttl)


def _change(args: argparse.Namespace) -> ChangeOptions:
    from generator.deploy.pipeline import ChangeOptions

    markdown = Path(args.markdown) if args.markdown else None
    allow_dirty = bool(getattr(args, "allow_dirty", False))
    return ChangeOptions(
        tuple(args.allow_replace or ()), args.role_arn, markdown, allow_dirty=allow_dirty
    )


def _plan(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.deploy import pipeline

    request = pipeline.PlanRequest(_target(args), _change(args), keep=args.keep)
    return pipeline.plan(request, connect.runtime(runtime))


def _deploy(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.deploy import pipeline

    request = pipeline.DeployRequest(_target(args), _change(args), change_set=args.change_set)
    return pipeline.deploy(request, connect.runtime(runtime))


def _status(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.deploy import pipeline

    return pipeline.status(pipeline.StatusRequest(_target(args)), connect.runtime(runtime))


def _destroy(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.deploy import pipeline

    request = pipeline.DestroyRequest(_target(args), yes=args.yes)
    return pipeline.destroy(request, connect.runtime(runtime))


# ---------------------------------------------------------------------------------- parsers


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment name (environments/ENV.yaml)")
    add_connection(parser)
    parser.add_argument(
        "--timeout-minutes",
        type=_minutes,
        default=None,
        help="give up waiting after this long (default: deploy.timeout_minutes)",
    )
    parser.add_argument(
        "--preview",
        metavar="NAME",
        help="a preview of ENV: its own stack TapStackENV-NAME, every physical name suffixed, "
        "nothing retained (docs/previews.md)",
    )
    add_root(parser)


def _preview_tags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pull-request",
        type=_positive,
        metavar="N",
        help="with --preview: the pull request it previews (tag PullRequest)",
    )
    parser.add_argument(
        "--ttl-hours",
        type=_positive,
        metavar="H",
        help=f"with --preview: expire it after H hours (tag ExpiresAt; default "
        f"{PREVIEW_TTL_HOURS}); `previews --expired --destroy` removes it then",
    )


def _changes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-replace",
        action="append",
        metavar="LOGICAL_ID",
        help="allow the reviewed removal or replacement of this stateful resource (repeatable)",
    )
    parser.add_argument(
        "--role-arn",
        type=_role_arn,
        help="CloudFormation service role for the app stack's change sets (the bootstrap stack "
        "always uses the caller's credentials); default: the role the stack already has, else "
        "the caller's credentials",
    )
    parser.add_argument(
        "--markdown",
        metavar="FILE",
        help="append the plan as Markdown to FILE (also to $GITHUB_STEP_SUMMARY when set)",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plan``, ``deploy``, ``status`` and ``destroy``."""
    plan = subparsers.add_parser(
        "plan",
        help="create a change set and show what a deploy would do",
        description="Create a change set, print it as a table (and Markdown), run the guard, "
        "and delete it unless --keep. Exit 3 when the guard would block the deploy.",
    )
    _common(plan)
    _changes(plan)
    _preview_tags(plan)
    plan.add_argument(
        "--keep",
        action="store_true",
        help="keep the change set for `deploy --change-set`; its id is printed and written "
        "to .state/plan-ENV.changeset (and to $GITHUB_OUTPUT as change-set-id)",
    )
    plan.set_defaults(func=_plan)

    deploy = subparsers.add_parser(
        "deploy",
        help="deploy an environment through a change set",
        description="Bootstrap, upload the handler, create a change set, guard, execute, wait.",
    )
    _common(deploy)
    _changes(deploy)
    _preview_tags(deploy)
    deploy.add_argument(
        "--allow-dirty",
        action="store_true",
        help="deploy a working tree with uncommitted changes to an AWS account (the stack's "
        "git-commit tag then says <sha>-dirty; an emulated environment needs no flag)",
    )
    deploy.add_argument(
        "--change-set",
        type=_change_set_id,
        metavar="ID",
        help="execute exactly this change set kept by `plan --keep` (refused when stale)",
    )
    deploy.set_defaults(func=_deploy)

    status = subparsers.add_parser(
        "status",
        help="compare the deployed template with the committed one and detect drift",
        description="Exit 0 when the stack is settled, runs the committed template, and drift "
        "detection found every resource in sync; else 1. Drift that cannot be established "
        "(no permission, detection failed, resources not checked) is exit 1, except for an "
        "environment with `emulator: true`, whose emulator has no drift detection: there the "
        "exit code reflects only the template comparison.",
    )
    _common(status)
    status.set_defaults(func=_status)

    destroy = subparsers.add_parser(
        "destroy",
        help="delete an environment that retains no data (empties its buckets first)",
    )
    _common(destroy)
    destroy.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    destroy.set_defaults(func=_destroy)
