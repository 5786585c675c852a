"""Exit codes 4 and 5 through the real CLI entry point, on recorded responses."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from tests.deploy.conftest import ACCOUNT, Make, Repo, stack, status_session, stub_clients
from tests.deploy.test_recorded import STACK_ID, event, events


def _connect(repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch) -> tuple[Stubber, Stubber]:
    cfn, cfn_stub = stubbed("cloudformation")
    s3, s3_stub = stubbed("s3")
    sts, sts_stub = stubbed("sts")
    sts_stub.add_response(
        "get_caller_identity",
        {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:role/deployer", "UserId": "AROA"},
    )
    repo.use(clients=lambda connection, env: stub_clients(cfn, s3, sts))
    cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    cfn_stub.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "DataBucket",
                    "PhysicalResourceId": "serverlessapp-files-dev-123456789012",
                    "ResourceType": "AWS::S3::Bucket",
                    "LastUpdatedTimestamp": "2025-03-01T00:00:00Z",
                    "ResourceStatus": "UPDATE_COMPLETE",
                }
            ]
        },
    )
    s3_stub.add_response(
        "put_bucket_logging",
        {},
        {"Bucket": "serverlessapp-files-dev-123456789012", "BucketLoggingStatus": {}},
    )
    s3_stub.add_response("list_object_versions", {"Versions": [], "IsTruncated": False})
    cfn_stub.add_response("describe_stack_events", events(event("e1", "UPDATE_COMPLETE")))
    cfn_stub.add_response("delete_stack", {}, {"StackName": STACK_ID})
    return cfn_stub, s3_stub


NOT_EMPTY = event(
    "e3", "DELETE_FAILED", "DataBucket", "The bucket you tried to delete is not empty",
    "AWS::S3::Bucket",
)  # fmt: skip


def _delete_fails_on_a_nonempty_bucket(cfn_stub: Stubber) -> None:
    cfn_stub.add_response(
        "describe_stack_events",
        events(
            event("e4", "DELETE_FAILED", reason="The following resource(s) failed to delete"),
            NOT_EMPTY,
            event("e2", "DELETE_IN_PROGRESS", reason="User Initiated"),
            event("e1", "UPDATE_COMPLETE"),
        ),
    )
    cfn_stub.add_response("describe_stacks", stack("DELETE_FAILED"))


def _retry(cfn_stub: Stubber, s3_stub: Stubber) -> None:
    """The second emptying and delete after a failure on a non-empty bucket."""
    s3_stub.add_response(
        "list_object_versions",
        {"Versions": [{"Key": "data-bucket/late-log", "VersionId": "v1"}], "IsTruncated": False},
    )
    s3_stub.add_response("delete_objects", {"Deleted": [{"Key": "data-bucket/late-log"}]})
    cfn_stub.add_response("describe_stack_events", events(event("e4", "DELETE_FAILED")))
    cfn_stub.add_response("delete_stack", {}, {"StackName": STACK_ID})


def test_destroy_turns_off_access_logging_before_emptying_and_retries_a_nonempty_bucket_once(
    repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn_stub, s3_stub = _connect(repo, stubbed, monkeypatch)
    _delete_fails_on_a_nonempty_bucket(cfn_stub)
    _retry(cfn_stub, s3_stub)
    cfn_stub.add_response(
        "describe_stack_events",
        events(event("e6", "DELETE_COMPLETE"), event("e5", "DELETE_IN_PROGRESS"),
               event("e4", "DELETE_FAILED")),
    )  # fmt: skip
    cfn_stub.add_response("describe_stacks", stack("DELETE_COMPLETE"))
    assert repo.run("destroy", "--env", "dev", "--yes") == 0, repo.output
    assert "server access logging turned off on serverlessapp-files-dev-123456789012" in repo.lines
    assert any("emptying again and retrying once" in line for line in repo.lines)
    assert repo.lines[-1] == "TapStackdev: DELETE_COMPLETE"


def test_fails_with_the_root_cause_when_deletion_fails(
    repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfn_stub, s3_stub = _connect(repo, stubbed, monkeypatch)
    _delete_fails_on_a_nonempty_bucket(cfn_stub)
    _retry(cfn_stub, s3_stub)  # once only: the second failure is reported
    cfn_stub.add_response(
        "describe_stack_events",
        events({**NOT_EMPTY, "EventId": "e7"}, event("e5", "DELETE_IN_PROGRESS"),
               event("e4", "DELETE_FAILED")),
    )  # fmt: skip
    cfn_stub.add_response("describe_stacks", stack("DELETE_FAILED"))
    assert repo.run("destroy", "--env", "dev", "--yes") == 4, repo.output
    err = capsys.readouterr().err
    assert "DataBucket [AWS::S3::Bucket] DELETE_FAILED: The bucket you tried to delete" in err, (
        repo.output
    )


def test_times_out_with_exit_5_while_deletion_is_still_in_progress(
    repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfn_stub, _ = _connect(repo, stubbed, monkeypatch)
    for _ in range(15):  # one minute: at 0, 1, 3 s, then every five seconds
        cfn_stub.add_response("describe_stack_events", events(event("e1", "UPDATE_COMPLETE")))
        cfn_stub.add_response("describe_stacks", stack("DELETE_IN_PROGRESS"))
    assert repo.run("destroy", "--env", "dev", "--yes", "--timeout-minutes", "1") == 5
    assert "still DELETE_IN_PROGRESS" in capsys.readouterr().err


def test_an_aws_refusal_is_a_message_and_exit_4_not_a_traceback(
    repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfn, cfn_stub = stubbed("cloudformation")
    sts, sts_stub = stubbed("sts")
    sts_stub.add_response(
        "get_caller_identity",
        {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:role/deployer", "UserId": "AROA"},
    )
    repo.use(clients=lambda connection, env: stub_clients(cfn, None, sts))
    cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    cfn_stub.add_client_error("list_stack_resources", "AccessDenied", "not authorized")
    assert repo.run("destroy", "--env", "dev", "--yes") == 4
    assert "AWS refused ListStackResources: AccessDenied: not authorized" in capsys.readouterr().err


def test_status_without_drift_permissions_compares_the_template_and_fails_closed(
    repo: Repo, stubbed: Make
) -> None:
    cfn_stub = status_session(repo, stubbed)
    cfn_stub.add_client_error("detect_stack_drift", "AccessDenied", "not authorized")
    assert repo.run("status", "--env", "dev") == 1  # unknown drift is not "no drift"
    assert "  template: up to date" in repo.lines
    assert "  drift detection unavailable: not authorized" in repo.lines
    assert any(line.startswith("  drift: NOT ESTABLISHED") for line in repo.lines)


def test_an_unreachable_endpoint_is_exit_4_not_a_credentials_error(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.exceptions import EndpointConnectionError

    class Unreachable:
        meta = type("Meta", (), {"endpoint_url": "https://sts.us-east-1.amazonaws.com"})()

        def get_caller_identity(self) -> None:
            raise EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com")

    repo.use(clients=lambda connection, env: stub_clients(None, None, Unreachable()))
    assert repo.run("status", "--env", "dev") == 4
    err = capsys.readouterr().err
    assert "could not reach https://sts.us-east-1.amazonaws.com" in err
    assert "credentials" not in err


def test_refused_credentials_are_still_a_usage_error(
    repo: Repo, stubbed: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    sts, sts_stub = stubbed("sts")
    sts_stub.add_client_error(
        "get_caller_identity", "InvalidClientTokenId", "bad token", http_status_code=403
    )
    repo.use(clients=lambda connection, env: stub_clients(None, None, sts))
    assert repo.run("status", "--env", "dev") == 2
    assert "expected credentials from the standard chain" in capsys.readouterr().err
