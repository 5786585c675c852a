"""Every action an app-stack role's own policy grants lies inside its permissions boundary, in
every mode the environment model allows: a boundary that misses one silently breaks the feature
on AWS (the emulator does not enforce IAM), so the template must not be able to drift from it.

The IAM evaluator (test_iam_simulation.py) proves the resource scoping over the committed
templates; this proves the action envelope for the modes no committed template uses.
"""

from __future__ import annotations

from typing import Any

import pytest

from generator import naming
from generator.boundary import boundary_grants
from generator.config import Environment, parse_environment
from generator.contracts import ArtifactRef
from generator.stack import build_template

SHA = "ab" * 32
ARTIFACT = ArtifactRef(key=naming.artifact_key(SHA), sha256=SHA)

VARIANTS = {
    "direct, rotating": {},
    "direct, not rotating": {"secret": {"rotation_days": 0}},
    "queue, rotating": {"ingest": {"mode": "queue"}},
    "queue, not rotating": {"ingest": {"mode": "queue"}, "secret": {"rotation_days": 0}},
}


def environment(settings: dict[str, Any]) -> Environment:
    return parse_environment(
        "qa",
        {"account_id": "111111111111", "region": "eu-west-1", "retain_data": False, **settings},
        "qa.yaml",
    )


def role_actions(template: dict[str, Any]) -> dict[str, set[str]]:
    """Each IAM role's granted actions (inline policies and AWS::IAM::RolePolicy/Policy)."""
    resources = template["Resources"]
    granted: dict[str, set[str]] = {
        lid: set() for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"
    }

    def add(role_ref: Any, document: dict[str, Any]) -> None:
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                actions = statement["Action"]
                granted[role_ref["Ref"]].update([actions] if isinstance(actions, str) else actions)

    for lid, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                add({"Ref": lid}, policy["PolicyDocument"])
        elif resource["Type"] in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy"):
            roles = [{"Ref": props["RoleName"]["Ref"]}] if "RoleName" in props else props["Roles"]
            for role in roles:
                add(role, props["PolicyDocument"])
    return granted


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_role_action_lies_inside_the_boundary(variant: str) -> None:
    env = environment(VARIANTS[variant])
    template = build_template(env, ARTIFACT).to_dict()
    allowed = {action.JSONrepr() for grant in boundary_grants(env) for action in grant.actions}
    roles = role_actions(template)
    assert roles, "the app stack should create at least the function's role"
    for role, actions in roles.items():
        outside = sorted(actions - allowed)
        assert not outside, f"{variant}: {role} is granted {outside}, which its boundary caps"


def test_every_role_carries_the_boundary_in_every_mode() -> None:
    for settings in VARIANTS.values():
        resources = build_template(environment(settings), ARTIFACT).to_dict()["Resources"]
        for lid, resource in resources.items():
            if resource["Type"] == "AWS::IAM::Role":
                assert "PermissionsBoundary" in resource["Properties"], lid


def test_queue_mode_boundary_names_exactly_the_ingest_queue() -> None:
    env = environment({"ingest": {"mode": "queue"}})
    (grant,) = [g for g in boundary_grants(env) if g.sid == "PollOwnIngestQueue"]
    assert grant.resources == (
        f"arn:${{AWS::Partition}}:sqs:eu-west-1:111111111111:{naming.ingest_queue_name('qa')}",
    )
    direct = environment({})
    assert not [g for g in boundary_grants(direct) if g.sid == "PollOwnIngestQueue"]
