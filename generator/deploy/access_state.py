"""Whether the deployed account-access stack is the committed template: what ``plan`` and
``status`` say about it (a changed boundary or CI permission waits on an administrator's
``access deploy``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from generator import contracts, naming
from generator.deploy.aws import error_code
from generator.deploy.changeset import template_sha256
from generator.deploy.stacks import describe_stack

STACK = naming.CI_ACCESS_STACK_NAME


def template_file() -> str:
    from generator.ci_access import TEMPLATE_FILE

    return str(TEMPLATE_FILE)


def committed_hash(root: Path) -> str | None:
    """The sha256 of the committed account-access template (None: there is none)."""
    try:
        return template_sha256((root / template_file()).read_text(encoding="utf-8"))
    except OSError:
        return None


def drift_line(cfn: Any, root: Path) -> str | None:
    """One line when the deployed account-access stack is not the committed template (or
    cannot be read); None when it is."""
    wanted = committed_hash(root)
    if wanted is None:
        return None
    try:
        stack = describe_stack(cfn, STACK)
    except ClientError as exc:
        return f"account-access stack {STACK}: cannot be read ({error_code(exc)})"
    if stack is None:
        return (
            f"account-access stack {STACK}: not deployed in this account and region; an "
            "administrator runs `python -m generator access deploy --env ENV` (docs/ci.md)"
        )
    if stack.tags.get(contracts.TEMPLATE_TAG) != wanted:
        return (
            f"account-access stack {STACK} is not {template_file()} as committed: CI roles, "
            "permissions boundaries and trust change only when an administrator runs "
            "`python -m generator access deploy --env ENV`"
        )
    return None
