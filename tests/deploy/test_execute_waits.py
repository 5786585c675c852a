"""Execution outcomes and waits: no stale final status, one deadline for the whole deploy, a
reason for every failed create."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from generator.clock import Deadline
from generator.deploy import apply
from generator.deploy.guard import judge
from generator.deploy.stacks import Event, StackOutcome, failure_message
from generator.errors import ExitCode, GeneratorError
from tests.deploy.conftest import (
    FakeClock,
    Make,
    Repo,
    stack,
)
from tests.deploy.fakes import FakeCloudFormation, Step
from tests.deploy.test_recorded import (
    CHANGE_SET_ID,
    context,
    event,
    events,
    recorded_change_set,
    spec,
)

STACK = "TapStackdev"


def test_execute_does_not_accept_the_previous_final_status_as_its_outcome() -> None:
    earlier = datetime.fromisoformat("2025-02-01T00:00:00+00:00")
    cfn = FakeCloudFormation(
        before={"StackStatus": "UPDATE_COMPLETE", "LastUpdatedTime": earlier},
        history=[event("e1", "UPDATE_COMPLETE")],
        steps=[
            # First poll: nothing new yet; the stack still shows the previous update's result.
            Step([], "UPDATE_COMPLETE", {"LastUpdatedTime": earlier}),
            # Second poll: the update ran and failed.
            Step(
                [
                    event("e4", "UPDATE_ROLLBACK_COMPLETE"),
                    event("e3", "UPDATE_FAILED", "DeadLetterQueue", "Access denied",
                          "AWS::SQS::Queue"),
                    event("e2", "UPDATE_IN_PROGRESS", reason="User Initiated"),
                ],
                "UPDATE_ROLLBACK_COMPLETE",
            ),
        ],
    )  # fmt: skip
    planned = apply.Planned(recorded_change_set(), "UPDATE", judge((), ()), (), False)
    clock = FakeClock()
    with pytest.raises(GeneratorError) as caught:
        apply.execute(context(cfn, clock, []), spec(), planned)
    assert caught.value.exit_code == ExitCode.FAILED
    assert "DeadLetterQueue [AWS::SQS::Queue] UPDATE_FAILED: Access denied" in str(caught.value)
    assert cfn.executed
    assert clock.sleeps == [1.0]  # it waited for the update instead of reporting the old result


def test_execute_waits_only_for_what_is_left_of_the_deploys_deadline(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    planned = apply.Planned(recorded_change_set(), "CREATE", judge((), ()), (), True)
    stubber.add_response("describe_stack_events", events(event("e1", "REVIEW_IN_PROGRESS")))
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    for _ in range(5):  # 10 s left of a 600 s limit: polls at 0, 1, 3, 5 and 10 s, then exit 5
        stubber.add_response("describe_stack_events", events(event("e1", "REVIEW_IN_PROGRESS")))
        stubber.add_response("describe_stacks", stack("CREATE_IN_PROGRESS"))
    stubber.add_response("describe_stacks", stack("CREATE_IN_PROGRESS"))
    stubber.add_response("set_stack_policy", {})
    clock = FakeClock()
    ctx = context(cfn, clock, [])
    ctx = replace(ctx, deadline=Deadline(clock, 10))
    with pytest.raises(GeneratorError) as caught:
        apply.execute(ctx, spec(), planned)
    assert caught.value.exit_code == ExitCode.TIMED_OUT
    assert clock.t == 1010.0


def test_execute_refuses_to_start_once_the_deadline_has_passed(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    planned = apply.Planned(recorded_change_set(), "UPDATE", judge((), ()), (), False)
    stubber.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    clock = FakeClock()
    ctx = context(cfn, clock, [])
    ctx = replace(ctx, deadline=Deadline(clock, -1))
    with pytest.raises(GeneratorError) as caught:
        apply.execute(ctx, spec(), planned)  # no execute_change_set: the stubber would refuse
    assert caught.value.exit_code == ExitCode.TIMED_OUT
    assert "nothing was executed" in str(caught.value)


class TickingClock(FakeClock):
    """Every reading of the time costs 20 seconds: the phases of a deploy add up."""

    def now(self) -> float:
        self.t += 20.0
        return self.t


def test_one_deadline_bounds_the_whole_deploy(
    repo: Repo, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo.use(clock=TickingClock())
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    # Each phase alone takes well under a minute; together (bootstrap, plan, wait) they do not.
    assert repo.run("deploy", "--env", "dev", "--timeout-minutes", "1") == 5
    assert ":hourglass: **Timed out** (exit 5)" in summary.read_text(encoding="utf-8")


def test_failed_create_without_a_resource_failure_names_the_stack_events_reason() -> None:
    stamp = datetime.fromisoformat("2025-03-01T12:00:00+00:00")
    failed = Event(
        "e2", stamp, STACK, "AWS::CloudFormation::Stack", "CREATE_FAILED",
        "BucketAlreadyExists: serverlessapp-files-dev-123456789012 already exists",
    )  # fmt: skip
    started = Event("e1", stamp, STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "")
    message = failure_message(
        "Creation", STACK, StackOutcome("ROLLBACK_COMPLETE", "", (started, failed))
    )
    assert message.splitlines()[-1] == (
        "  TapStackdev CREATE_FAILED: BucketAlreadyExists: serverlessapp-files-dev-123456789012 "
        "already exists"
    )
    bare = failure_message("Creation", STACK, StackOutcome("ROLLBACK_COMPLETE", "", (started,)))
    assert "describe-stack-events --stack-name TapStackdev" in bare
