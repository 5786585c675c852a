"""Delete an environment's stack, emptying its buckets first."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from generator.deploy.aws import Clock, error_code
from generator.deploy.events import (
    Out,
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


def destroy_stack(
    cfn: Any, s3: Any, stack: dict[str, Any], clock: Clock, out: Out, timeout_seconds: float
) -> None:
    """Empty the stack's buckets, delete the stack and wait; raise with the root cause."""
    name, stack_id = str(stack["StackName"]), str(stack["StackId"])
    for resource in list_resources(cfn, stack_id):
        if resource.get("ResourceType") == "AWS::S3::Bucket" and resource.get("PhysicalResourceId"):
            bucket = str(resource["PhysicalResourceId"])
            count = empty_bucket(s3, bucket)
            out(f"emptied bucket {bucket}: {count} object versions and delete markers deleted")
    since = latest_event_id(cfn, stack_id)
    out(f"deleting stack {name}")
    cfn.delete_stack(StackName=stack_id)
    outcome = wait_for_stack(cfn, stack_id, clock, out, timeout_seconds, since)
    if outcome.status != "DELETE_COMPLETE":
        raise GeneratorError(failure_message("Deletion", name, outcome), ExitCode.FAILED)
    out(f"{name}: DELETE_COMPLETE")
