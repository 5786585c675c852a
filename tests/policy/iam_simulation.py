"""Run IAM requests through @cloud-copilot/iam-simulate (a maintained IAM evaluator, under Node).

The engine evaluates identity policies, permissions boundaries and resource policies together, with
IAM's condition operators; ``iam/simulate.mjs`` only feeds it. The policies come from the committed
templates, resolved (``generator.resolve``) the way CloudFormation would pass them to IAM.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIMULATOR_DIR = Path(__file__).resolve().parent / "iam"
INSTALLED_MARKER = SIMULATOR_DIR / "node_modules" / ".installed"
INSTALL_COMMAND = "make iam-sim-env  (or: cd tests/policy/iam && npm ci --ignore-scripts)"

ALLOWED = "Allowed"
DENIED = "Denied"

Document = Mapping[str, Any]


@dataclass(frozen=True)
class Request:
    """One IAM request and every policy that applies to it."""

    principal: str
    action: str
    resource: str
    identity: Mapping[str, Document]
    boundary: Document | None = None
    resource_policy: Document | None = None
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    # AssumeRoleWithWebIdentity against a trust policy (``resource_policy``): its OIDC keys
    # (``token.actions.githubusercontent.com:sub``) are evaluated as given (simulate.mjs).
    web_identity: bool = False

    def to_json(self, case_id: str) -> dict[str, Any]:
        """The simulator's input for this request (``simulate.mjs`` reads a list of these)."""
        account = _account_of(self.resource) or _account_of(self.principal) or ""
        return {
            "id": case_id,
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "resourceAccount": account,
            # The engine does not derive these global keys from the principal; IAM does.
            "context": {
                "aws:PrincipalArn": self.principal,
                "aws:PrincipalAccount": _account_of(self.principal) or account,
                **self.context,
            },
            "identityPolicies": [{"name": n, "policy": p} for n, p in self.identity.items()],
            "boundaries": (
                [{"name": "boundary", "policy": self.boundary}] if self.boundary else None
            ),
            "resourcePolicy": self.resource_policy,
            "webIdentity": self.web_identity,
        }


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


class SimulatorMissing(RuntimeError):
    """Node or the simulator's packages are not installed."""


def simulate(requests: Mapping[str, Request]) -> dict[str, dict[str, Any]]:
    """Each request's verdict by id: ``{"result": "Allowed" | "ExplicitlyDenied" | ...}``."""
    node = shutil.which("node")
    if node is None or not INSTALLED_MARKER.exists():
        raise SimulatorMissing(
            "the IAM policy simulator is not installed (needs node and "
            f"{SIMULATOR_DIR.name}/node_modules); install it with: {INSTALL_COMMAND}"
        )
    payload = json.dumps([request.to_json(case_id) for case_id, request in requests.items()])
    completed = subprocess.run(
        [node, str(SIMULATOR_DIR / "simulate.mjs")],
        input=payload,
        capture_output=True,
        text=True,
        cwd=SIMULATOR_DIR,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"simulate.mjs failed ({completed.returncode}): {completed.stderr}")
    return {verdict["id"]: verdict for verdict in json.loads(completed.stdout)}


def outcome(verdict: Mapping[str, Any]) -> str:
    """``Allowed`` or ``Denied`` (explicitly or implicitly); errors are raised."""
    result = verdict["result"]
    if result == "Error":
        raise AssertionError(f"the simulator rejected the request: {verdict['errors']}")
    return ALLOWED if result == ALLOWED else DENIED


def statements(document: Document) -> Sequence[Mapping[str, Any]]:
    """A policy's statements as a list."""
    found = document["Statement"]
    return found if isinstance(found, list) else [found]
