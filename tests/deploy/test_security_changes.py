"""Plans a reviewer can sign: the Security changes section (IAM statements per policy, resource-
policy principals, boundaries, public access), whether a change widens access, and the approver's
first line; policy documents never cut; added resources with their properties."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.config import parse_environment
from generator.contracts import ArtifactRef
from generator.deploy import plan, security
from generator.deploy.changeset import Change, ChangeSet, PropertyChange
from generator.deploy.guard import judge
from generator.deploy.values import Redaction
from generator.emulator.moto_fixes.change_details import property_details
from generator.render import to_json
from generator.stack import build_template
from generator.workspace import CHECKOUT
from tests.deploy.conftest import DEV_ENV, Repo, app_template

BUCKET = "arn:${AWS::Partition}:s3:::serverlessapp-files-local-${AWS::AccountId}"


# --------------------------------------------------------------------------------- helpers


def template_of(resources: dict[str, Any]) -> dict[str, Any]:
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> tuple[Change, ...]:
    """The change set CloudFormation (here: the emulator's own computation) reports between two
    templates: one detail per changed path with BeforeValue/AfterValue."""
    old, new = before["Resources"], after["Resources"]
    found = []
    for logical_id in sorted(set(old) | set(new)):
        if logical_id not in old:
            found.append(Change("Add", logical_id, new[logical_id]["Type"]))
        elif logical_id not in new:
            found.append(Change("Remove", logical_id, old[logical_id]["Type"]))
        elif old[logical_id] != new[logical_id]:
            raw = property_details(new[logical_id]["Type"], old[logical_id], new[logical_id])
            details = tuple(
                PropertyChange(
                    attribute=d["Target"]["Attribute"],
                    name=d["Target"].get("Name", ""),
                    requires_recreation=d["Target"]["RequiresRecreation"],
                    change_source=d["ChangeSource"],
                    path=d["Target"].get("Path", ""),
                    before_value=d["Target"].get("BeforeValue"),
                    after_value=d["Target"].get("AfterValue"),
                    attribute_change_type=d["Target"].get("AttributeChangeType", ""),
                )
                for d in raw
            )
            scope = tuple(sorted({d.attribute for d in details}))
            found.append(
                Change("Modify", logical_id, new[logical_id]["Type"], scope=scope, details=details)
            )
    return tuple(found)


def view(
    before: dict[str, Any], after: dict[str, Any], *, approval: bool = False, env: str = "local"
) -> plan.Plan:
    changes = changes_between(before, after)
    change_set = ChangeSet(
        "arn:cs", "pr-x", "arn:stack", f"TapStack{env}", "CREATE_COMPLETE", "AVAILABLE",
        changes=changes,
    )  # fmt: skip
    return plan.Plan(
        env, f"TapStack{env}", change_set, "UPDATE", judge(changes, ()),
        Redaction.from_template(after), template=after, approval=approval,
    )  # fmt: skip


def report(before: dict[str, Any], after: dict[str, Any]) -> security.SecurityReport:
    return security.analyze(changes_between(before, after), after)


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "Access",
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        },
    }


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def bucket_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "DataBucket"},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        },
    }


READ = allow(["s3:GetObject"], [{"Fn::Sub": f"{BUCKET}/uploads/*"}], Sid="Read")
WRITE = allow("s3:PutObject", {"Fn::Sub": f"{BUCKET}/processed/*"}, Sid="Write")
TLS_ONLY = {
    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": [{"Fn::Sub": f"{BUCKET}/*"}],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}  # fmt: skip


# ------------------------------------------------- done when: the upload prefix of `local`


@pytest.fixture(scope="module")
def prefix_templates() -> tuple[dict[str, Any], dict[str, Any]]:
    """`local`'s template, and the same with storage.upload_prefix changed (synthesized)."""
    data = yaml.safe_load((CHECKOUT / "environments" / "local.yaml").read_text(encoding="utf-8"))
    ref = ArtifactRef(key="handler/x.zip", sha256="0" * 64)

    def synth(settings: dict[str, Any]) -> dict[str, Any]:
        env = parse_environment("local", settings, "local.yaml")
        built: dict[str, Any] = json.loads(to_json(build_template(env, ref).to_dict()))
        return built

    changed = copy.deepcopy(data)
    changed.setdefault("storage", {})["upload_prefix"] = "incoming/"
    return synth(data), synth(changed)


def test_upload_prefix_change_opens_the_markdown_with_the_changed_statements(
    prefix_templates: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    markdown = plan.render_markdown(view(*prefix_templates))
    lines = markdown.splitlines()
    assert lines[0].startswith("### Security changes for TapStacklocal (environment local): ")
    assert "2 IAM statements (1 added, 1 removed); ⚠ widens access" in lines[0]
    section = markdown.split("### Plan for")[0]
    assert (
        "| - | `FunctionPolicy` | `Allow` | `s3:GetObject`<br>`s3:GetObjectVersion` | "
        f"`{BUCKET}/uploads/*` |   |" in section
    )
    assert (
        "| + :warning: | `FunctionPolicy` | `Allow` | `s3:GetObject`<br>`s3:GetObjectVersion` | "
        f"`{BUCKET}/incoming/*` |   |" in section
    )
    # The policy document is shown whole: no cut, every statement (the last one, too).
    assert "more diff lines not shown" not in markdown
    assert '"Sid": "XRayTracing"' in markdown
    # No environment of `local`'s needs approval: no first line before the section.
    assert "This change widens access" not in markdown


def test_upload_prefix_change_in_the_terminal(
    prefix_templates: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    text = plan.render_text(view(*prefix_templates))
    lines = text.splitlines()
    assert lines[0].startswith("Security changes for TapStacklocal (environment local): 2 IAM")
    removed = next(i for i, line in enumerate(lines) if line.lstrip().startswith("-    Function"))
    assert lines[removed].split() == [
        "-", "FunctionPolicy", "Allow", "s3:GetObject", f"{BUCKET}/uploads/*",
    ]  # fmt: skip
    assert lines[removed + 1].split() == ["s3:GetObjectVersion"]
    assert lines[removed + 2].split()[:3] == ["+", "⚠", "FunctionPolicy"]
    assert "more diff lines not shown" not in text
    # The terminal shows every change of the policy with context, and where the rest is.
    assert plan._ELIDED in text


def test_widening_plan_of_an_approved_environment_says_so_first(
    prefix_templates: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    signed = view(*prefix_templates, approval=True)
    markdown, text = plan.render_markdown(signed), plan.render_text(signed)
    reason = f"FunctionPolicy: new Allow s3:GetObject, s3:GetObjectVersion on {BUCKET}/incoming/*"
    assert markdown.splitlines()[0] == (
        f"**⚠ This change widens access:** `{reason}`. The environment local requires approval "
        "(deploy.approval): the approver signs exactly this; see Security changes below."
    )
    assert text.splitlines()[0].startswith(f"⚠ This change widens access: {reason}.")
    assert markdown.splitlines()[2].startswith("### Security changes for TapStacklocal")


def test_a_plan_without_security_changes_says_none_first() -> None:
    before = template_of({"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 0}}})
    after = template_of({"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 5}}})
    signed = view(before, after, approval=True)
    assert plan.render_text(signed).splitlines()[:2] == [
        "Security changes for TapStacklocal (environment local): none",
        "  (no IAM statement, resource-policy principal, permissions boundary or public-access "
        "change)",
    ]
    assert plan.render_markdown(signed).startswith(
        "### Security changes for TapStacklocal (environment local): none\n"
    )


# ------------------------------------------------------------------ statements as sets


def test_reordered_statements_and_a_new_sid_are_no_change() -> None:
    before = template_of({"Access": policy(READ, WRITE)})
    after = template_of({"Access": policy({**WRITE, "Sid": "Renamed"}, READ)})
    assert report(before, after).empty


def test_a_changed_statement_is_one_removed_and_one_added() -> None:
    wider = allow(["s3:GetObject", "s3:GetObjectTagging"], READ["Resource"], Sid="Read")
    found = report(template_of({"Access": policy(READ)}), template_of({"Access": policy(wider)}))
    assert [(s.sign, s.statement.actions) for s in found.statements] == [
        ("-", ("s3:GetObject",)),
        ("+", ("s3:GetObject", "s3:GetObjectTagging")),
    ]
    assert found.widening == (
        f"Access: new Allow s3:GetObject, s3:GetObjectTagging on {BUCKET}/uploads/*",
    )


def test_narrowing_a_statement_does_not_widen() -> None:
    broad = allow("s3:Get*", {"Fn::Sub": f"{BUCKET}/*"})
    narrow = allow("s3:GetObject", {"Fn::Sub": f"{BUCKET}/uploads/*"})
    conditioned = allow(
        "s3:Get*", {"Fn::Sub": f"{BUCKET}/*"},
        Condition={"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    )  # fmt: skip
    for after in (narrow, conditioned):
        found = report(
            template_of({"Access": policy(broad)}), template_of({"Access": policy(after)})
        )
        assert len(found.statements) == 2
        assert found.widening == ()
    # ... and the other way round widens.
    found = report(template_of({"Access": policy(narrow)}), template_of({"Access": policy(broad)}))
    assert found.widening == (f"Access: new Allow s3:Get* on {BUCKET}/*",)


def test_removed_allow_and_added_deny_do_not_widen_but_a_removed_deny_does() -> None:
    deny = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    assert report(template_of({"Access": policy(READ, WRITE)}),
                  template_of({"Access": policy(READ, deny)})).widening == ()  # fmt: skip
    found = report(
        template_of({"Access": policy(READ, deny)}), template_of({"Access": policy(READ)})
    )
    assert found.widening == ("Access: removed Deny s3:DeleteObject on *",)


def test_role_inline_policies_managed_policies_and_trust() -> None:
    role: dict[str, Any] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "Inline", "PolicyDocument": {"Statement": [READ]}}],
        },
    }  # fmt: skip
    after = copy.deepcopy(role)
    props = after["Properties"]
    props["Policies"][0]["PolicyDocument"]["Statement"].append(WRITE)
    props["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]
    props["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"] = {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
    }
    found = report(template_of({"Role": role}), template_of({"Role": after}))
    assert [(s.sign, s.policy, s.kind) for s in found.statements] == [
        ("+", "Role (inline Inline)", "identity"),
        ("-", "Role (trust policy)", "trust"),
        ("+", "Role (trust policy)", "trust"),
    ]
    assert [f.text for f in found.in_category(security.ATTACHED)] == [
        "managed policy arn:aws:iam::aws:policy/AdministratorAccess"
    ]
    principals = found.in_category(security.PRINCIPALS)
    assert [(f.sign, f.text) for f in principals] == [
        ("+", "AWS:arn:${AWS::Partition}:iam::${AWS::AccountId}:root may now assume it")
    ]
    assert set(found.widening) == {
        f"Role: new Allow s3:PutObject on {BUCKET}/processed/*",
        "Role: new Allow sts:AssumeRole to AWS:arn:${AWS::Partition}:iam::${AWS::AccountId}:root, "
        "Service:lambda.amazonaws.com",
        "Role: attaches managed policy arn:aws:iam::aws:policy/AdministratorAccess",
        "Role: new principal AWS:arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
    }


def test_a_policy_attached_to_another_role_widens() -> None:
    after = policy(READ)
    after["Properties"]["Roles"].append({"Ref": "OtherRole"})
    found = report(template_of({"Access": policy(READ)}), template_of({"Access": after}))
    assert found.widening == ("Access: now attached to role ${OtherRole}",)


# ----------------------------------------------------------- resource policies, public access


def test_new_principal_in_a_bucket_policy_widens_and_anyone_is_public_access() -> None:
    reader = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
              "Action": "s3:GetObject", "Resource": {"Fn::Sub": f"{BUCKET}/*"}}  # fmt: skip
    anyone = {**reader, "Principal": "*"}
    before = template_of({"Policy": bucket_policy(TLS_ONLY)})
    found = report(before, template_of({"Policy": bucket_policy(TLS_ONLY, reader)}))
    assert [(f.sign, f.owner, f.text) for f in found.in_category(security.PRINCIPALS)] == [
        ("+", "Policy (on ${DataBucket})", "AWS:arn:aws:iam::210987654321:root may now access it")
    ]
    assert "Policy (on ${DataBucket}): new principal AWS:arn:aws:iam::210987654321:root" in (
        found.widening
    )
    public = report(before, template_of({"Policy": bucket_policy(TLS_ONLY, anyone)}))
    assert [f.text for f in public.in_category(security.PUBLIC)] == [
        "Allow s3:GetObject to anyone (no condition)"
    ]
    rendered = plan.render_text(
        view(before, template_of({"Policy": bucket_policy(TLS_ONLY, anyone)}))
    )
    assert "  Resource and trust policies (+ added, - removed):" in rendered
    assert "  Public access:" in rendered


def test_removing_a_deny_from_a_bucket_policy_widens() -> None:
    found = report(template_of({"Policy": bucket_policy(TLS_ONLY)}),
                   template_of({"Policy": bucket_policy()}))  # fmt: skip
    assert found.widening == (f"Policy: removed Deny s3:* on {BUCKET}/* to *",)


def test_lambda_permission_to_anyone_is_public() -> None:
    permission = {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "Function"},
        "Principal": "s3.amazonaws.com", "SourceAccount": {"Ref": "AWS::AccountId"}}}  # fmt: skip
    added = report(template_of({}), template_of({"Invoke": permission}))
    assert [(s.sign, s.statement.principals, s.statement.resources) for s in added.statements] == [
        ("+", ("Service:s3.amazonaws.com",), ("${Function}",))
    ]
    assert added.statements[0].statement.condition_cell() == (
        "StringEquals AWS:SourceAccount: ${AWS::AccountId}",
    )
    opened = copy.deepcopy(permission)
    opened["Properties"]["Principal"] = "*"
    del opened["Properties"]["SourceAccount"]
    found = report(template_of({"Invoke": permission}), template_of({"Invoke": opened}))
    assert "Invoke (on ${Function}): allows anyone (Principal *)" in found.widening


def test_public_access_block_loosened_widens() -> None:
    def bucket(block_policy: bool) -> dict[str, Any]:
        return {"Type": "AWS::S3::Bucket", "Properties": {"PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "BlockPublicPolicy": block_policy,
            "IgnorePublicAcls": True, "RestrictPublicBuckets": True}}}  # fmt: skip

    found = report(template_of({"Data": bucket(True)}), template_of({"Data": bucket(False)}))
    assert [(f.sign, f.text) for f in found.in_category(security.PUBLIC)] == [
        ("~", "PublicAccessBlockConfiguration.BlockPublicPolicy: true → false")
    ]
    assert found.widening == ("Data: public access block loosened (BlockPublicPolicy off)",)
    assert (
        report(template_of({"Data": bucket(False)}), template_of({"Data": bucket(True)})).widening
        == ()
    )
    acl = {"Type": "AWS::S3::Bucket", "Properties": {"AccessControl": "PublicRead"}}
    plain = template_of({"Data": {"Type": "AWS::S3::Bucket"}})
    assert report(plain, template_of({"Data": acl})).widening == (
        "Data: public canned ACL PublicRead",
    )


# --------------------------------------------------------------------- permissions boundaries


def role_with(boundary: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"AssumeRolePolicyDocument": {"Statement": []}}
    if boundary is not None:
        props["PermissionsBoundary"] = boundary
    return {"Type": "AWS::IAM::Role", "Properties": props}


BOUNDARY = {
    "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/ServerlessAppBoundary-dev"
}


def test_boundary_removed_or_replaced_widens_and_set_does_not() -> None:
    other = "arn:aws:iam::123456789012:policy/Other"
    removed = report(
        template_of({"Role": role_with(BOUNDARY)}), template_of({"Role": role_with(None)})
    )
    assert removed.widening == ("Role: permissions boundary removed",)
    replaced = report(
        template_of({"Role": role_with(BOUNDARY)}), template_of({"Role": role_with(other)})
    )
    assert [f.sign for f in replaced.in_category(security.BOUNDARIES)] == ["~"]
    assert replaced.widening[0].startswith("Role: permissions boundary replaced")
    added = report(
        template_of({"Role": role_with(None)}), template_of({"Role": role_with(BOUNDARY)})
    )
    assert [f.text for f in added.in_category(security.BOUNDARIES)] == [
        "boundary set: " + security.readable(BOUNDARY)
    ]
    assert added.widening == ()


def test_a_statement_added_to_the_boundary_policy_loosens_it() -> None:
    def boundary(*statements: dict[str, Any]) -> dict[str, Any]:
        return {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "ManagedPolicyName": "ServerlessAppBoundary-dev",
            "PolicyDocument": {"Statement": list(statements)}}}  # fmt: skip

    found = report(template_of({"AppRoleBoundaryDev": boundary(READ)}),
                   template_of({"AppRoleBoundaryDev": boundary(READ, WRITE)}))  # fmt: skip
    assert [(s.sign, s.policy, s.kind) for s in found.statements] == [
        ("+", "AppRoleBoundaryDev (boundary)", "boundary")
    ]
    assert found.widening == (
        f"AppRoleBoundaryDev: boundary now allows Allow s3:PutObject on {BUCKET}/processed/*",
    )


# ------------------------------------------------------------------- intrinsic functions


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({"Ref": "Secret"}, "${Secret}"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "${Queue.Arn}"),
        ({"Fn::GetAtt": "Queue.Arn"}, "${Queue.Arn}"),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::b"}, "arn:${AWS::Partition}:s3:::b"),
        ({"Fn::Sub": ["${B}/*", {"B": {"Fn::GetAtt": ["Bucket", "Arn"]}}]}, "${Bucket.Arn}/*"),
        ({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::b"]]},
         "arn:${AWS::Partition}:s3:::b"),
        ({"Fn::If": ["Prod", "a", {"Ref": "AWS::NoValue"}]}, "If(Prod, a, ${AWS::NoValue})"),
        ({"Fn::ImportValue": "Shared-Arn"}, "ImportValue(Shared-Arn)"),
        ({"Fn::Select": [0, {"Fn::GetAZs": ""}]}, "Select(0, GetAZs())"),
        ({"Fn::Sub": []}, "Sub()"),
        ({"Fn::Join": "oops"}, "Join(oops)"),
        ("{{resolve:secretsmanager:s}}", "(redacted: dynamic reference)"),
        (None, "null"),
        (3, "3"),
    ],
)  # fmt: skip
def test_intrinsic_functions_read_as_written(value: Any, shown: str) -> None:
    assert security.readable(value) == shown


def test_unreadable_statements_and_documents_never_crash_and_count_as_widening() -> None:
    conditional = {"Fn::If": ["Prod", READ, {"Ref": "AWS::NoValue"}]}
    found = report(template_of({"Access": policy(WRITE)}),
                   template_of({"Access": policy(WRITE, conditional)}))  # fmt: skip
    assert [s.statement.opaque for s in found.statements] == [
        f"If(Prod, {{Action: [s3:GetObject], Effect: Allow, Resource: [{BUCKET}/uploads/*], "
        "Sid: Read}, ${AWS::NoValue})"
    ]
    assert found.widening[0].startswith("Access: added a statement that cannot be read")
    # A document written as JSON text inside Fn::Sub is read as the document it is.
    as_text = policy()
    as_text["Properties"]["PolicyDocument"] = {"Fn::Sub": json.dumps({"Statement": [WRITE]})}
    assert report(template_of({"Access": policy(WRITE)}), template_of({"Access": as_text})).empty
    # Anything else that is not a document is one opaque statement.
    odd = policy()
    odd["Properties"]["PolicyDocument"] = {"Fn::ImportValue": "SharedPolicy"}
    weird = report(template_of({"Access": policy(WRITE)}), template_of({"Access": odd}))
    assert [s.statement.opaque for s in weird.statements if s.sign == "+"] == [
        "ImportValue(SharedPolicy)"
    ]
    rendered = plan.render_markdown(
        view(template_of({"Access": policy(WRITE)}), template_of({"Access": odd}))
    )
    assert "`ImportValue(SharedPolicy)`" in rendered


# ------------------------------------------------- values as CloudFormation itself sends them


def test_deep_paths_as_aws_reports_them_put_the_previous_statement_back() -> None:
    """Real CloudFormation reports the deepest changed path with its values."""
    after = template_of({"Access": policy(allow(["s3:GetObject"], ["arn:aws:s3:::b/incoming/*"]))})
    detail = PropertyChange(
        "Properties", "PolicyDocument", "Never", "DirectModification",
        "/Properties/PolicyDocument/Statement/0/Resource/0",
        "arn:aws:s3:::b/uploads/*", "arn:aws:s3:::b/incoming/*", "Modify",
    )  # fmt: skip
    change = Change(
        "Modify", "Access", "AWS::IAM::Policy", scope=("Properties",), details=(detail,)
    )
    found = security.analyze([change], after)
    assert [(s.sign, s.statement.resources) for s in found.statements] == [
        ("-", ("arn:aws:s3:::b/uploads/*",)),
        ("+", ("arn:aws:s3:::b/incoming/*",)),
    ]


def test_a_changed_policy_without_its_previous_value_is_not_known_and_widens() -> None:
    after = template_of({"Access": policy(READ)})
    detail = PropertyChange("Properties", "PolicyDocument", "Never", "DirectModification",
                            "/Properties/PolicyDocument", None, None, "Modify")  # fmt: skip
    change = Change(
        "Modify", "Access", "AWS::IAM::Policy", scope=("Properties",), details=(detail,)
    )
    found = security.analyze([change], after)
    assert found.statements == ()
    assert [f.category for f in found.findings] == [security.UNKNOWN]
    assert found.widening == ("Access: PolicyDocument changed and its previous value is not known",)


def test_a_reference_to_a_replaced_resource_is_not_a_change() -> None:
    after = template_of({"Access": policy(allow("sqs:SendMessage", {"Fn::GetAtt": ["Q", "Arn"]}))})
    detail = PropertyChange("Properties", "PolicyDocument", "Never", "ResourceReference",
                            causing_entity="Q.Arn")  # fmt: skip
    change = Change(
        "Modify", "Access", "AWS::IAM::Policy", scope=("Properties",), details=(detail,)
    )
    assert security.analyze([change], after).empty


def test_removed_resource_policy_widens_and_removed_role_does_not() -> None:
    before = template_of({"Policy": bucket_policy(TLS_ONLY), "Role": role_with(None)})
    found = report(before, template_of({}))
    assert found.widening == ("Policy: resource policy removed (any Deny statements go with it)",)
    assert [f.text for f in found.in_category(security.ATTACHED)] == [
        "AWS::IAM::Role removed (what it granted goes with it)"
    ]


# ------------------------------------------------------------------------ what is shown


def test_policy_diffs_are_never_cut_and_other_long_values_still_are() -> None:
    many = [allow(f"s3:Action{i}", f"arn:aws:s3:::b/{i}/*") for i in range(12)]
    wider = [allow(f"s3:Action{i}", f"arn:aws:s3:::c/{i}/*") for i in range(12)]
    dashboard = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": json.dumps(
        {"widgets": [{"n": i} for i in range(20)]})}}  # fmt: skip
    longer = copy.deepcopy(dashboard)
    longer["Properties"]["DashboardBody"] = json.dumps({"widgets": [{"n": -i} for i in range(20)]})
    signed = view(template_of({"Access": policy(*many), "Board": dashboard}),
                  template_of({"Access": policy(*wider), "Board": longer}))  # fmt: skip
    text, markdown = plan.render_text(signed), plan.render_markdown(signed)
    policy_part = text.split("  Modify  Access")[1].split("  Modify  Board")[0] if (
        "  Modify  Access" in text) else text  # fmt: skip
    assert "more diff lines not shown" not in policy_part
    assert all(f'"arn:aws:s3:::c/{i}/*"' in policy_part for i in range(12))
    assert "more diff lines not shown" in text.split("Board")[-1]
    assert all(f'"arn:aws:s3:::c/{i}/*"' in markdown for i in range(12))


def test_added_resources_show_their_properties_redacted() -> None:
    secret = {"Type": "AWS::SecretsManager::Secret", "Properties": {
        "Name": "app-secret", "SecretString": "hunter2",
        "Description": {"Fn::Sub": "for ${AWS::StackName}"}}}  # fmt: skip
    queue = {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": "q", "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
                          "maxReceiveCount": 3},
        "Tags": [{"Key": "a", "Value": "{{resolve:ssm-secure:p}}"}]}}  # fmt: skip
    signed = view(template_of({}), template_of({"Secret": secret, "Queue": queue}))
    text, markdown = plan.render_text(signed), plan.render_markdown(signed)
    assert "hunter2" not in text + markdown
    assert "ssm-secure" not in text + markdown
    assert "      SecretString: (redacted: secret value)" in text.splitlines()
    assert "      KmsMasterKeyId: ${Key.Arn}" in text.splitlines()
    assert "      RedrivePolicy: {deadLetterTargetArn, maxReceiveCount}" in text.splitlines()
    assert "      Tags: [1 item]" in text.splitlines()
    assert "<summary><code>Queue</code> AWS::SQS::Queue: Add, 4 properties</summary>" in markdown
    assert '  "maxReceiveCount": 3' in markdown
    assert '      "Value": "(redacted: dynamic reference)"' in markdown


# ------------------------------------------------------------- through the CLI and the summary


IAM_BEFORE = {
    "AppRole": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "Read", "PolicyDocument": {"Version": "2012-10-17",
            "Statement": [allow("s3:GetObject", "arn:aws:s3:::b/uploads/*")]}}]}},
}  # fmt: skip


def test_a_widening_plan_of_an_approved_environment_leads_the_step_summary(
    repo: Repo, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo.write_env("dev", DEV_ENV + "deploy:\n  approval: true\n")
    repo.write_template("dev", app_template("dev", repo.artifact, IAM_BEFORE))
    assert repo.run("deploy", "--env", "dev") == 0
    after = copy.deepcopy(IAM_BEFORE)
    statement = after["AppRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    statement["Resource"] = "arn:aws:s3:::b/*"
    repo.write_template("dev", app_template("dev", repo.artifact, after))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    assert repo.run("plan", "--env", "dev", "--markdown", str(tmp_path / "plan.md")) == 0
    reason = "AppRole: new Allow s3:GetObject on arn:aws:s3:::b/*"
    assert repo.lines[0].startswith(f"⚠ This change widens access: {reason}. The environment dev")
    first = summary.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(f"**⚠ This change widens access:** `{reason}`.")
    assert (tmp_path / "plan.md").read_text(encoding="utf-8") == summary.read_text("utf-8")

    summary.unlink()
    assert repo.run("deploy", "--env", "dev") == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("**⚠ This change widens access:**")
    assert f"⚠ **Widened access:** `{reason}`" in text
