"""What a deploy leaves when it is interrupted, and what the next command does about it.

In-process moto (with the emulator's CloudFormation fixes): a relaxed stack policy is restored on
every way out of an execute and reported by status (exit 6) when a SIGKILL left it; replies lost
after a change took effect are reconciled from CloudFormation's own state; change sets a killed
run left behind are listed and swept; two runs of one stack on a machine are one too many.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from moto import mock_aws

from generator import interrupts, locks
from generator.deploy import apply, changeset, protection
from generator.emulator import moto_fixes
from generator.errors import ExitCode
from tests.deploy.conftest import REGION, Repo, app_template

pytestmark = pytest.mark.integration

STACK = "TapStackdev"
# What `--allow-replace DataBucket` lifts while its change set runs.
RELAXED = protection.stack_policy({"DeadLetterQueue"})


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws(), moto_fixes.installed():
        yield


def cfn() -> Any:
    return boto3.client("cloudformation", region_name=REGION)


def live_policy() -> dict[str, Any]:
    body = cfn().get_stack_policy(StackName=STACK)["StackPolicyBody"]
    return dict(json.loads(body))


def full_policy() -> dict[str, Any]:
    return protection.stack_policy({"DataBucket", "DeadLetterQueue"})


def with_queue(repo: Repo, name: str) -> None:
    repo.write_template(
        "dev", app_template("dev", repo.artifact, {name: {"Type": "AWS::SQS::Queue"}})
    )


def test_status_reports_a_relaxed_policy_with_exit_6_and_the_next_deploy_restores_it(
    repo: Repo,
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    assert live_policy() == full_policy()
    cfn().set_stack_policy(
        StackName=STACK, StackPolicyBody=json.dumps(RELAXED)
    )  # SIGKILL's leftover

    assert repo.run("status", "--env", "dev") == ExitCode.UNPROTECTED == 6
    assert "stack policy of TapStackdev is RELAXED: DataBucket can be replaced or deleted" in (
        repo.output
    )
    assert repo.run("plan", "--env", "dev") == 0
    assert "warning: the stack policy of TapStackdev is RELAXED" in repo.output
    assert live_policy() == RELAXED  # a plan changes nothing

    assert repo.run("deploy", "--env", "dev") == 0  # no changes to the stack itself
    assert "stack policy of TapStackdev: restored (DataBucket protected again)" in repo.output
    assert live_policy() == full_policy()
    assert repo.run("status", "--env", "dev") != ExitCode.UNPROTECTED  # moto has no drift: 1
    assert "stack policy: every stateful resource protected" in repo.output


@pytest.mark.parametrize("failure", ["refused", "sigterm", "sigint"])
def test_an_execute_that_ends_early_puts_the_full_policy_back(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    with_queue(repo, "SecondQueue")
    seen: list[dict[str, Any]] = []

    def execute(ctx: Any, planned: Any) -> None:
        seen.append(live_policy())  # lifted for this run
        if failure == "refused":
            raise apply.GeneratorError("cannot execute change set: boom", ExitCode.FAILED)
        if failure == "sigterm":
            raise interrupts.Terminated(15)
        raise KeyboardInterrupt

    monkeypatch.setattr(apply, "_execute_once", execute)
    expected = {"refused": 4, "sigterm": 143, "sigint": 130}[failure]
    assert repo.run("deploy", "--env", "dev", "--allow-replace", "DataBucket") == expected
    # Lifted: DataBucket only; the new queue is protected from its first moment.
    assert seen == [protection.stack_policy({"DeadLetterQueue", "SecondQueue"})]
    assert live_policy() == protection.stack_policy(
        {"DataBucket", "DeadLetterQueue", "SecondQueue"}
    )


class LosesReplies:
    """A CloudFormation client whose named calls take effect, then lose their reply."""

    def __init__(self, client: Any, *operations: str) -> None:
        self._client = client
        self._lose = set(operations)
        self.lost: list[str] = []

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)
        if name not in self._lose:
            return call

        def once(**kwargs: Any) -> Any:
            self._lose.discard(name)
            call(**kwargs)
            self.lost.append(name)
            # botocore's retry of the call, as CloudFormation answers it now
            try:
                return call(**kwargs)
            except Exception:
                raise ConnectionClosedError(endpoint_url="https://cloudformation") from None

        return once


@pytest.mark.parametrize("operation", ["execute_change_set", "create_change_set"])
def test_a_lost_reply_is_reconciled_not_reported_as_a_failure(repo: Repo, operation: str) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    with_queue(repo, "SecondQueue")
    real = repo.runtime.clients
    lossy: list[LosesReplies] = []

    def clients(connection: Any, env: Any) -> Any:
        made = real(connection, env)
        wrapped = LosesReplies(made.cloudformation, operation)
        lossy.append(wrapped)
        return apply.replace(made, cloudformation=wrapped)

    repo.use(clients=clients)
    assert repo.run("deploy", "--env", "dev") == 0, repo.output
    assert lossy[0].lost == [operation]
    resources = cfn().list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    assert "SecondQueue" in {r["LogicalResourceId"] for r in resources}
    if operation == "execute_change_set":
        assert "executed; the reply to ExecuteChangeSet was lost" in repo.output
    listed = changeset.list_change_sets(cfn(), STACK)
    assert [c.execution_status for c in listed] == ["EXECUTE_COMPLETE"]  # no orphan


class AnotherDeployRunsFirst:
    """A CloudFormation client whose CreateChangeSet is followed at once by another checkout's
    change set executing on the same stack (which deletes this run's change set)."""

    def __init__(self, client: Any, body: str) -> None:
        self._client = client
        self._body = body

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)
        if name != "create_change_set":
            return call

        def then_the_other(**kwargs: Any) -> Any:
            made = call(**kwargs)
            if kwargs["StackName"] != STACK:
                return made  # the bootstrap stack's
            other = cfn().create_change_set(
                StackName=STACK, ChangeSetName="deploy-other-checkout", ChangeSetType="UPDATE",
                TemplateBody=self._body, Capabilities=["CAPABILITY_NAMED_IAM"],
            )["Id"]  # fmt: skip
            cfn().execute_change_set(ChangeSetName=other)

            return made

        return then_the_other


def test_a_change_set_deleted_by_another_deploy_before_it_is_read_is_blocked_not_failed(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    other = json.dumps(
        app_template("dev", repo.artifact, {"OtherQueue": {"Type": "AWS::SQS::Queue"}})
    )
    with_queue(repo, "SecondQueue")
    real = repo.runtime.clients

    def clients(connection: Any, env: Any) -> Any:
        made = real(connection, env)
        return apply.replace(
            made, cloudformation=AnotherDeployRunsFirst(made.cloudformation, other)
        )

    repo.use(clients=clients)
    assert repo.run("deploy", "--env", "dev") == 3, repo.output
    error = capsys.readouterr().err
    assert "was deleted as soon as it was made" in error
    assert "Nothing was executed; plan or deploy again" in error
    resources = cfn().list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    ids = {r["LogicalResourceId"] for r in resources}
    assert "OtherQueue" in ids  # the other deploy's change, and only that
    assert "SecondQueue" not in ids


class StackBusyAtExecute:
    """A CloudFormation client whose ExecuteChangeSet arrives while another run's update of the
    stack is in progress (CloudFormation refuses it; this run's change set is not yet deleted)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)
        if name != "execute_change_set":
            return call

        def busy(**kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ValidationError", "Message": f"Stack:{STACK} is in "
                           "UPDATE_IN_PROGRESS state and can not be updated."}},
                "ExecuteChangeSet",
            )  # fmt: skip

        return busy


def test_an_execute_refused_because_another_update_started_is_blocked_not_failed(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    with_queue(repo, "SecondQueue")
    real = repo.runtime.clients

    def clients(connection: Any, env: Any) -> Any:
        made = real(connection, env)
        return apply.replace(made, cloudformation=StackBusyAtExecute(made.cloudformation))

    repo.use(clients=clients)
    assert repo.run("deploy", "--env", "dev", "--allow-replace", "DataBucket") == 3, repo.output
    error = capsys.readouterr().err
    assert "Another operation started on the stack after this plan" in error
    assert "Nothing was executed" in error
    # The allowance lifted for the execute is put back (the template's policy, new queue too).
    assert live_policy() == protection.stack_policy(
        {"DataBucket", "DeadLetterQueue", "SecondQueue"}
    )
    resources = cfn().list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    assert "SecondQueue" not in {r["LogicalResourceId"] for r in resources}


def test_status_lists_and_the_next_deploy_sweeps_a_killed_runs_change_set(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    body = json.dumps(app_template("dev", repo.artifact, {"Q2": {"Type": "AWS::SQS::Queue"}}))
    for name in ("deploy-dev-aaaaaaaaaaaa-20250101T000000000Z-0a0b0c", "kept-dev-x-1-2"):
        cfn().create_change_set(
            StackName=STACK, ChangeSetName=name, TemplateBody=body, ChangeSetType="UPDATE"
        )
    hours_later = datetime.now(UTC) + timedelta(hours=3)  # longer than any run may take
    repo.use(utcnow=lambda: hours_later)
    monkey_now = apply.Context.utcnow
    try:
        apply.Context.utcnow = lambda self: hours_later  # type: ignore[method-assign]
        assert repo.run("status", "--env", "dev") == 1  # moto has no drift detection
        assert "orphaned change set deploy-dev-aaaaaaaaaaaa" in repo.output
        assert "kept plan kept-dev-x-1-2: AVAILABLE" in repo.output
        assert repo.run("deploy", "--env", "dev") == 0
    finally:
        apply.Context.utcnow = monkey_now  # type: ignore[method-assign]
    assert "deleted change set deploy-dev-aaaaaaaaaaaa" in repo.output
    listed = changeset.list_change_sets(cfn(), STACK)
    waiting = [c.name for c in listed if c.execution_status == "AVAILABLE"]
    assert waiting == ["kept-dev-x-1-2"]  # a kept plan is not this run's to delete


def test_a_second_run_of_the_same_stack_on_this_machine_is_refused(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    state = repo.root / ".state"
    with locks.held(state, STACK, "deploy"):
        assert repo.run("deploy", "--env", "dev") == ExitCode.BLOCKED
    err = capsys.readouterr().err
    assert f"another run is working on {STACK} on this machine (pid " in err
    assert repo.run("deploy", "--env", "dev") == 0  # released with its holder


def test_an_empty_change_set_id_is_a_usage_error_and_changes_nothing(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        repo.run("deploy", "--env", "dev", "--change-set", "")
    assert exited.value.code == ExitCode.USAGE
    assert "expected the change set ARN" in capsys.readouterr().err
    assert cfn().list_stacks()["StackSummaries"] == []
