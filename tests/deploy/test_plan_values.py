"""The plan a reviewer reads: before → after per property, redaction by rule, tag-only changes
folded, long values diffed, and drift shown with the environment's policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.config import parse_environment
from generator.deploy import plan
from generator.deploy.changeset import Change, ChangeSet, PropertyChange
from generator.deploy.drift import Drifted, DriftReport
from generator.deploy.driftplan import REFUSE, REVERT, DriftView, refusal
from generator.deploy.guard import judge
from generator.deploy.values import MAX_DIFF_LINES, Redaction, tags_only, value_lines
from generator.errors import ExitCode


def detail(
    path: str,
    before: str | None,
    after: str | None,
    *,
    source: str = "DirectModification",
    cause: str = "",
    recreation: str = "Never",
) -> PropertyChange:
    name = path.split("/")[2] if path.startswith("/Properties/") else ""
    return PropertyChange(
        attribute="Properties", name=name, requires_recreation=recreation, change_source=source,
        path=path, before_value=before, after_value=after, attribute_change_type="Modify",
        causing_entity=cause,
    )  # fmt: skip


def modify(logical_id: str, resource_type: str, *details: PropertyChange, **kw: Any) -> Change:
    scope = kw.pop("scope", ("Properties",))
    return Change("Modify", logical_id, resource_type, scope=scope, details=details, **kw)


def make_plan(*changes: Change, redaction: Redaction | None = None, **kw: Any) -> plan.Plan:
    change_set = ChangeSet("arn:cs", "cs-1", "arn:stack", "TapStackdev", "CREATE_COMPLETE",
                           "AVAILABLE", changes=changes)  # fmt: skip
    return plan.Plan("dev", "TapStackdev", change_set, "UPDATE", judge(changes, ()),
                     redaction or Redaction(), **kw)  # fmt: skip


MEMORY = modify("Function", "AWS::Lambda::Function", detail("/Properties/MemorySize", "256", "512"))
TAGS_ONLY = Change(
    "Modify", "DeadLetterQueue", "AWS::SQS::Queue", scope=("Tags",),
    details=(PropertyChange("Tags", "", "Never", "DirectModification"),),
)  # fmt: skip


def test_shows_each_changed_property_with_before_and_after() -> None:
    view = make_plan(MEMORY)
    assert "      MemorySize: 256 → 512" in plan.render_text(view).splitlines()
    assert "- `MemorySize: 256 → 512`" in plan.render_markdown(view).splitlines()


def test_markdown_folds_each_resource_in_details() -> None:
    markdown = plan.render_markdown(make_plan(MEMORY))
    assert "<details>" in markdown
    assert "<summary><code>Function</code> AWS::Lambda::Function: Modify, 1 property</summary>" in (
        markdown
    )
    assert markdown.count("<details>") == markdown.count("</details>") == 1


def test_added_and_removed_properties_show_none() -> None:
    change = modify(
        "Function", "AWS::Lambda::Function",
        detail("/Properties/Description", None, "new"), detail("/Properties/Layers", "[]", None),
    )  # fmt: skip
    lines = [v.headline() for v in value_lines(change, Redaction())]
    assert lines == ["Description: (none) → new", "Layers: [] → (none)"]


def test_nested_path_is_shown_below_properties() -> None:
    change = modify(
        "Function", "AWS::Lambda::Function",
        detail("/Properties/Environment/Variables/POWERTOOLS_LOG_LEVEL", "INFO", "DEBUG"),
    )  # fmt: skip
    (line,) = value_lines(change, Redaction())
    assert line.headline() == "Environment/Variables/POWERTOOLS_LOG_LEVEL: INFO → DEBUG"


def test_create_only_property_is_marked_as_forcing_replacement() -> None:
    change = modify(
        "DeadLetterQueue", "AWS::SQS::Queue",
        detail("/Properties/QueueName", "a", "b", recreation="Always"), replacement="True",
    )  # fmt: skip
    text = plan.render_text(make_plan(change))
    assert "QueueName: a → b [forces replacement]" in text
    assert "BLOCKED: DeadLetterQueue (AWS::SQS::Queue): replaced because QueueName changed" in text


def test_long_values_are_diffed_not_dumped() -> None:
    before = json.dumps({"widgets": [{"queue": "ServerlessApp-DLQ-dev", "n": i} for i in range(9)]})
    after = before.replace('"n": 3', '"n": 33')
    change = modify("Dashboard", "AWS::CloudWatch::Dashboard",
                    detail("/Properties/DashboardBody", before, after))  # fmt: skip
    (line,) = value_lines(change, Redaction())
    assert line.headline() == "DashboardBody: changed (diff below)"
    assert '-      "n": 3,' in line.diff
    assert '+      "n": 33,' in line.diff
    text = plan.render_text(make_plan(change))
    assert before not in text
    markdown = plan.render_markdown(make_plan(change))
    assert "```diff" in markdown


def test_long_diffs_are_cut() -> None:
    before = "\n".join(f"line {i}" for i in range(100))
    after = "\n".join(f"line {i}!" for i in range(100))
    change = modify("Function", "AWS::Lambda::Function",
                    detail("/Properties/Description", before, after))  # fmt: skip
    (line,) = value_lines(change, Redaction())
    assert len(line.diff) == MAX_DIFF_LINES + 1
    assert line.diff[-1].endswith("more diff lines not shown)")


def test_redacts_values_set_from_no_echo_parameters() -> None:
    template = {"Parameters": {"ApiToken": {"Type": "String", "NoEcho": True},
                               "Level": {"Type": "String"}}}  # fmt: skip
    change = modify(
        "Function", "AWS::Lambda::Function",
        detail("/Properties/Environment/Variables/TOKEN", "s3cr3t-old", "s3cr3t-new",
               source="ParameterReference", cause="ApiToken"),
        detail("/Properties/Environment/Variables/LEVEL", "INFO", "DEBUG",
               source="ParameterReference", cause="Level"),
    )  # fmt: skip
    view = make_plan(change, redaction=Redaction.from_template(template))
    for rendered in (plan.render_text(view), plan.render_markdown(view)):
        assert "s3cr3t" not in rendered
        assert "Environment/Variables/TOKEN: (redacted: NoEcho parameter ApiToken)" in rendered
        assert "Environment/Variables/LEVEL: INFO → DEBUG" in rendered


@pytest.mark.parametrize(
    "path", ["/Properties/SecretString", "/Properties/GenerateSecretString/PasswordLength"]
)
def test_redacts_anything_under_a_secrets_generated_string(path: str) -> None:
    change = modify("Secret", "AWS::SecretsManager::Secret", detail(path, "old-value", "new-value"))
    text = plan.render_text(make_plan(change))
    assert "old-value" not in text
    assert "new-value" not in text
    assert "(redacted: secret value)" in text


def test_redacts_dynamic_references() -> None:
    change = modify(
        "Function", "AWS::Lambda::Function",
        detail("/Properties/Environment/Variables/DB", "x", "{{resolve:ssm-secure:/db/password}}"),
    )  # fmt: skip
    text = plan.render_text(make_plan(change))
    assert "resolve:" not in text
    assert "Environment/Variables/DB: (redacted: dynamic reference)" in text


def test_secret_description_is_not_redacted() -> None:
    change = modify("Secret", "AWS::SecretsManager::Secret",
                    detail("/Properties/Description", "old", "new"))  # fmt: skip
    assert "Description: old → new" in plan.render_text(make_plan(change))


def test_folds_changes_that_only_carry_the_stack_tags_into_one_line() -> None:
    other = Change("Modify", "AlarmTopic", "AWS::SNS::Topic", scope=("Tags",))
    view = make_plan(MEMORY, TAGS_ONLY, other)
    text = plan.render_text(view)
    fold = [line for line in text.splitlines() if line.startswith("Tags only:")]
    assert fold == [
        "Tags only: 2 resources change only the stack's own tags (template-sha256, "
        "handler-sha256, git-commit): DeadLetterQueue, AlarmTopic"
    ]
    assert "  Modify  DeadLetterQueue" not in text
    assert "2 only their tags" in plan.summary(view)
    assert "`DeadLetterQueue`" not in plan.render_markdown(view).split("Tags only:")[0]


def test_a_property_change_with_tags_is_not_tag_only() -> None:
    memory = detail("/Properties/MemorySize", "1", "2")
    change = modify("Function", "AWS::Lambda::Function", memory, scope=("Properties", "Tags"))
    assert not tags_only(change)
    assert tags_only(TAGS_ONLY)


def drifted(policy: str = REFUSE, emulated: bool = False) -> DriftView:
    item = Drifted(
        "Function", "AWS::Lambda::Function", "MODIFIED",
        ("/Properties/MemorySize NOT_EQUAL: expected 256 actual 1024",), ("MemorySize",),
    )  # fmt: skip
    return DriftView(DriftReport("DRIFTED", (item,)), policy, emulated)


def test_plan_marks_drifted_resources_and_properties() -> None:
    view = make_plan(MEMORY, drift=drifted())
    text = plan.render_text(view)
    assert "drifted outside git: /Properties/MemorySize NOT_EQUAL: expected 256 actual 1024" in text
    assert "Drift: 1 resource changed outside git (Function (MemorySize))" in text
    assert "deploy.drift is refuse: a deploy stops (exit 3)" in text
    markdown = plan.render_markdown(view)
    assert "> [!WARNING]" in markdown
    assert ":warning: drifted outside git" in markdown


def test_refuse_policy_refuses_with_exit_3_naming_the_properties() -> None:
    view = drifted(REFUSE)
    assert view.refuses
    error = refusal(view, "dev")
    assert error.exit_code == ExitCode.BLOCKED
    assert "Function (MemorySize)" in str(error)
    assert "environments/dev.yaml" in str(error)


def test_revert_policy_does_not_refuse_and_says_it_reverts() -> None:
    view = drifted(REVERT)
    assert not view.refuses
    assert any("REVERT_DRIFT" in line for line in view.text_lines())


def test_unknown_drift_is_said_and_does_not_block() -> None:
    unavailable = DriftReport("UNAVAILABLE", (), "drift detection unavailable on this endpoint")
    local = DriftView(unavailable, REFUSE, emulated=True)
    assert not local.refuses
    assert local.text_lines() == [
        "Drift: not established (drift detection unavailable on this endpoint); not blocking "
        "the emulated environment"
    ]
    remote = DriftView(unavailable, REFUSE, emulated=False)
    assert "NOT ESTABLISHED" in remote.headline()
    assert not remote.refuses


def test_in_sync_stack_reads_none() -> None:
    view = DriftView(DriftReport("IN_SYNC", ()))
    assert view.headline().startswith("none")
    assert view.marks("Function") == ()


def test_drift_policy_defaults_to_refuse_and_accepts_revert() -> None:
    base = {"account_id": "123456789012", "region": "us-east-1"}
    assert parse_environment("dev", base, "environments/dev.yaml").deploy.drift == "refuse"
    revert = {**base, "deploy": {"drift": "revert"}}
    assert parse_environment("dev", revert, "environments/dev.yaml").deploy.drift == "revert"


def test_rejects_unknown_drift_policy() -> None:
    data = {"account_id": "123456789012", "region": "us-east-1", "deploy": {"drift": "ignore"}}
    with pytest.raises(Exception, match="drift"):
        parse_environment("dev", data, "environments/dev.yaml")


def test_drift_aware_change_set_marks_the_resources_it_reverts() -> None:
    change = modify(
        "Function", "AWS::Lambda::Function",
        detail("/Properties/MemorySize", "1024", "256"), drift_status="MODIFIED",
    )  # fmt: skip
    text = plan.render_text(make_plan(change))
    assert "drifted outside git (MODIFIED); this change set reverts it" in text
