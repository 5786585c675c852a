"""Delete an environment's stack, emptying its buckets first."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from generator.clock import Clock, Deadline
from generator.deploy.aws import error_code
from generator.deploy.stacks import (
    Out,
    Stack,
    StackOutcome,
    failure_message,
    latest_event_id,
    list_resources,
    wait_for_stack,
)
from generator.errors import ExitCode, GeneratorError

_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; return how many were deleted."""
    deleted = 0
    paginator = s3.get_paginator("list_object_versions")
    try:
        for page in paginator.paginate(Bucket=bucket):
            keys = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for kind in ("Versions", "DeleteMarkers")
                for item in page.get(kind, [])
            ]
            for start in range(0, len(keys), _BATCH):
                batch = keys[start : start + _BATCH]
                reply = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                errors = reply.get("Errors", [])
                if errors:
                    first = errors[0]
                    raise GeneratorError(
                        f"cannot empty bucket {bucket}: {len(errors)} objects not deleted, e.g. "
                        f"{first.get('Key')}: {first.get('Message')}",
                        ExitCode.FAILED,
                    )
                deleted += len(batch)
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            return deleted
        raise
    return deleted


def stop_access_logging(s3: Any, bucket: str) -> None:
    """Turn off the bucket's server access logging (a missing bucket has none)."""
    try:
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    except ClientError as exc:
        if error_code(exc) != "NoSuchBucket":
            raise


def stack_buckets(cfn: Any, stack_id: str) -> list[str]:
    """The physical names of the stack's S3 buckets."""
    return [
        r.physical_id
        for r in list_resources(cfn, stack_id)
        if r.resource_type == "AWS::S3::Bucket" and r.physical_id
    ]


def failed_on_nonempty_bucket(outcome: StackOutcome) -> bool:
    """The delete failed because a bucket still held objects."""
    return any(
        e.resource_type == "AWS::S3::Bucket"
        and e.status == "DELETE_FAILED"
        and ("BucketNotEmpty" in e.reason or "not empty" in e.reason)
        for e in outcome.events
    )


def _empty_all(s3: Any, buckets: list[str], out: Out) -> None:
    for bucket in buckets:
        count = empty_bucket(s3, bucket)
        out(f"emptied bucket {bucket}: {count} object versions and delete markers deleted")


def _delete(cfn: Any, stack: Stack, clock: Clock, out: Out, timeout: float) -> StackOutcome:
    name, stack_id = stack.name, stack.stack_id
    since = latest_event_id(cfn, stack_id)
    out(f"deleting stack {name}")
    cfn.delete_stack(StackName=stack_id)
    return wait_for_stack(cfn, stack_id, clock, out, timeout, since)


def destroy_stack(
    cfn: Any, s3: Any, stack: Stack, clock: Clock, out: Out, timeout_seconds: float
) -> None:
    """Empty the stack's buckets, delete the stack and wait; raise with the root cause.

    Server access logs of the emptying itself arrive in the log bucket minutes later, after
    that bucket was emptied, and fail its deletion. So logging is turned off first, and a delete
    that fails on a non-empty bucket is retried once after emptying again.
    """
    deadline = Deadline(clock, timeout_seconds)  # one limit for the delete and its retry
    name, stack_id = stack.name, stack.stack_id
    buckets = stack_buckets(cfn, stack_id)
    for bucket in buckets:
        stop_access_logging(s3, bucket)
    if buckets:
        out(f"server access logging turned off on {', '.join(buckets)}")
    _empty_all(s3, buckets, out)
    outcome = _delete(cfn, stack, clock, out, deadline.at - clock.now())
    if outcome.status != "DELETE_COMPLETE" and failed_on_nonempty_bucket(outcome):
        out(f"{name}: a bucket was not empty (late access logs); emptying again and retrying once")
        _empty_all(s3, buckets, out)
        outcome = _delete(cfn, stack, clock, out, deadline.remaining())
    if outcome.status != "DELETE_COMPLETE":
        raise GeneratorError(failure_message("Deletion", name, outcome), ExitCode.FAILED)
    out(f"{name}: DELETE_COMPLETE")
