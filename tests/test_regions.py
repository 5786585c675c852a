"""A second region of the same account: prod's file copied to eu-west-1 as `prodeu` gets its own
stack, bootstrap bucket, physical names, alarms and outputs, and CI roles limited to its own
account and region."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from generator import naming
from generator.ci_access import build_ci_access_template
from generator.config import Environment, load_environments
from generator.contracts import ArtifactRef
from generator.naming import CiId
from generator.render import to_json
from generator.stack import build_template

ARTIFACT = ArtifactRef(key="handler/" + "b" * 64 + ".zip", sha256="b" * 64)
# Names in an account-wide (or global) namespace: IAM, S3 buckets, CloudWatch dashboards.
GLOBAL_NAMES = {"BucketName", "RoleName", "DashboardName", "ManagedPolicyName", "PolicyName"}
REGIONAL_NAMES = {"FunctionName", "QueueName", "TopicName", "AlarmName", "AliasName", "Name"}
_REGION = re.compile(r"\b[a-z]{2}-[a-z]+-[0-9]\b")


@pytest.fixture
def workspace(tmp_path: Path, repo_root: Path) -> dict[str, Environment]:
    """The repository's environments plus prodeu: prod's file in eu-west-1."""
    folder = tmp_path / "environments"
    folder.mkdir()
    for path in (repo_root / "environments").glob("*.yaml"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    prod = (folder / "prod.yaml").read_text(encoding="utf-8")
    (folder / "prodeu.yaml").write_text(
        prod.replace("region: us-west-2", "region: eu-west-1"), encoding="utf-8"
    )
    return load_environments(folder)


def _template(env: Environment) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(to_json(build_template(env, ARTIFACT).to_dict()))
    return parsed


def _names(template: dict[str, Any], keys: set[str]) -> set[str]:
    found = set()
    for resource in template["Resources"].values():
        for key, value in (resource.get("Properties") or {}).items():
            if key in keys and not (isinstance(value, dict) and "Ref" in value):
                found.add(json.dumps(value, sort_keys=True))
    return found


def test_the_new_region_is_the_same_account(workspace: dict[str, Environment]) -> None:
    prod, eu = workspace["prod"], workspace["prodeu"]
    assert (eu.account_id, eu.region, eu.deploy.wave) == (prod.account_id, "eu-west-1", 3)


def test_no_global_name_is_shared_across_regions(workspace: dict[str, Environment]) -> None:
    prod, eu = _template(workspace["prod"]), _template(workspace["prodeu"])
    assert _names(prod, GLOBAL_NAMES)
    assert _names(prod, GLOBAL_NAMES).isdisjoint(_names(eu, GLOBAL_NAMES))
    # Regional names would not collide anyway; they differ too, so dashboards and alarms are
    # told apart by name.
    assert _names(prod, REGIONAL_NAMES).isdisjoint(_names(eu, REGIONAL_NAMES))


def test_each_region_has_its_own_bootstrap_bucket(workspace: dict[str, Environment]) -> None:
    prod, eu = workspace["prod"], workspace["prodeu"]
    assert naming.artifact_bucket(prod.account_id, prod.region) != naming.artifact_bucket(
        eu.account_id, eu.region
    )
    assert naming.artifact_bucket(eu.account_id, eu.region).endswith("-eu-west-1")


def test_each_region_has_its_own_alarms_and_outputs(workspace: dict[str, Environment]) -> None:
    prod, eu = _template(workspace["prod"]), _template(workspace["prodeu"])

    def alarms(t: dict[str, Any]) -> set[str]:
        return {
            r["Properties"]["AlarmName"]
            for r in t["Resources"].values()
            if r["Type"] == "AWS::CloudWatch::Alarm"
        }

    def exports(t: dict[str, Any]) -> set[str]:
        return {o["Export"]["Name"] for o in t["Outputs"].values() if "Export" in o}

    assert len(alarms(eu)) == len(alarms(prod)) > 0
    assert alarms(prod).isdisjoint(alarms(eu))
    assert all(name.endswith("-prodeu") for name in alarms(eu))
    assert exports(prod).isdisjoint(exports(eu))
    assert eu["Metadata"]["ServerlessApp"]["region"] == "eu-west-1"
    assert set(eu["Outputs"]) == set(prod["Outputs"])


def _role_documents(template: dict[str, Any], env: str) -> list[dict[str, Any]]:
    """Every policy document of an environment's CI roles (inline and managed)."""
    suffix = CiId.suffix(env)
    documents = []
    for logical_id, resource in template["Resources"].items():
        # A permissions boundary grants nothing (it caps the app's roles): not a CI role's reach.
        if not logical_id.endswith(suffix) or (
            resource["Type"] == "AWS::IAM::ManagedPolicy" and ("Boundary" in logical_id)
        ):
            continue
        properties = resource["Properties"]
        if "PolicyDocument" in properties:
            documents.append(properties["PolicyDocument"])
        documents.extend(p["PolicyDocument"] for p in properties.get("Policies", []))
    return documents


def test_ci_roles_reach_only_their_own_account_and_region(
    workspace: dict[str, Environment],
) -> None:
    envs = {n: e for n, e in workspace.items() if not e.emulator}
    template = json.loads(to_json(build_ci_access_template(envs).to_dict()))
    for name, env in envs.items():
        documents = _role_documents(template, name)
        assert documents, name
        for document in documents:
            for statement in document["Statement"]:
                text = json.dumps(statement["Resource"])
                assert set(_REGION.findall(text)) <= {env.region}, (name, statement["Sid"])
                accounts = set(re.findall(r":([0-9]{12}):", text))
                assert accounts <= {env.account_id}, (name, statement["Sid"])
                if statement["Resource"] == ["*"] and statement["Effect"] == "Allow":
                    # No resource type: the region is a condition instead.
                    regions = [
                        c["aws:RequestedRegion"]
                        for c in statement["Condition"].values()
                        if "aws:RequestedRegion" in c
                    ]  # StringEquals or Like; fmt: skip
                    assert regions == [env.region], statement["Sid"]
    # Both prod regions' roles are created in prod's account only.
    conditions = template["Conditions"]
    assert conditions[CiId.in_account("prodeu")] == conditions[CiId.in_account("prod")]


def test_ci_role_names_do_not_collide_across_regions(workspace: dict[str, Environment]) -> None:
    envs = {n: e for n, e in workspace.items() if not e.emulator}
    template = json.loads(to_json(build_ci_access_template(envs).to_dict()))
    names = [
        r["Properties"].get("RoleName") or r["Properties"].get("ManagedPolicyName")
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy")
    ]
    assert len(names) == len(set(names))
    assert naming.plan_role_name("prodeu") in names
