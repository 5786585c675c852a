"""The one list of AWS Control Tower proactive controls this project does not meet, and why.

``generator/landing_zone.py`` runs the controls (cfn-guard rules) over every committed template; a
finding is allowed only when it matches an entry here: the control, the template (``*`` for all)
and the resource's logical id. An entry that no longer matches anything fails the gate too, so the
list never outlives its reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator import naming

L = naming.LogicalId
B = naming.BootstrapId


@dataclass(frozen=True)
class ControlException:
    """A control a resource does not meet, on purpose."""

    control: str  # e.g. "CT.LAMBDA.PR.3"
    template: str  # a template's file stem ("prod", "bootstrap"), or "*" for every template
    resource: str  # logical id
    reason: str


_APP = "*"  # the app stack's resources have the same logical ids in every environment

EXCEPTIONS: tuple[ControlException, ...] = (
    ControlException(
        "CT.LAMBDA.PR.3",
        _APP,
        L.FUNCTION,
        "Lambda outside a VPC: the function calls only S3 and Secrets Manager over TLS with IAM "
        "auth; a VPC would add NAT or endpoint cost and cold-start latency for no isolation gain.",
    ),
    ControlException(
        "CT.LAMBDA.PR.3",
        _APP,
        L.ROTATION_FUNCTION,
        "Lambda outside a VPC: the rotation function calls only Secrets Manager over TLS with IAM "
        "auth, a few times a month; a VPC would need an endpoint for no isolation gain.",
    ),
    ControlException(
        "CT.S3.PR.9",
        _APP,
        L.DATA_BUCKET,
        "No Object Lock: results are written once by the function (a bucket-policy Deny keeps "
        "everyone else out of processed/) and versioning keeps overwritten uploads; WORM "
        "retention would make dev's and a failed stack's teardown impossible.",
    ),
    ControlException(
        "CT.S3.PR.9",
        _APP,
        L.ACCESS_LOG_BUCKET,
        "No Object Lock on access logs: they expire by lifecycle rule (storage."
        "access_log_expiration_days), which Object Lock would block.",
    ),
    ControlException(
        "CT.S3.PR.9",
        "bootstrap",
        B.ARTIFACT_BUCKET,
        "No Object Lock on handler artifacts: content-addressed, versioned, replaced by hash.",
    ),
    ControlException(
        "CT.S3.PR.2",
        _APP,
        L.ACCESS_LOG_BUCKET,
        "The access-log bucket is the logging destination: logging it into itself would loop.",
    ),
    ControlException(
        "CT.S3.PR.2",
        "bootstrap",
        B.ARTIFACT_BUCKET,
        "Artifact reads and writes are CloudTrail-logged CI actions; server access logs would "
        "need a per-account log bucket for a bucket holding only public-source handler zips.",
    ),
    ControlException(
        "CT.S3.PR.4",
        _APP,
        L.ACCESS_LOG_BUCKET,
        "Event notifications: nothing consumes access-log deliveries.",
    ),
    ControlException(
        "CT.S3.PR.4",
        "bootstrap",
        B.ARTIFACT_BUCKET,
        "Event notifications: nothing consumes artifact uploads (deploys name them by hash).",
    ),
    ControlException(
        "CT.S3.PR.10",
        _APP,
        L.ACCESS_LOG_BUCKET,
        "S3 server access log delivery supports only SSE-S3, not SSE-KMS.",
    ),
    ControlException(
        "CT.SQS.PR.1",
        _APP,
        L.DEAD_LETTER_QUEUE,
        "This is Lambda's dead-letter queue (DeadLetterConfig and the on-failure destination), "
        "not an SQS redrive target: its RedriveAllowPolicy is denyAll so no queue may redrive "
        "into it, and the control recognises a dead-letter queue only by allowAll or byQueue.",
    ),
    # The rotation function's log group keeps its logs as long as the function's
    # (function.log_retention_days), so both carry the same exceptions.
    *(
        ControlException("CT.CLOUDWATCH.PR.2", template, log_group, reason)
        for log_group in (L.LOG_GROUP, L.ROTATION_LOG_GROUP)
        for template, reason in (
            (
                "dev",
                "dev keeps function logs 7 days: no audit trail lives there "
                "(environments/dev.yaml).",
            ),
            (
                "staging",
                "staging keeps function logs 30 days, for checking a release "
                "(environments/staging.yaml).",
            ),
            ("local", "local is the embedded emulator: nothing is retained."),
            (
                "localqueue",
                "localqueue is the embedded emulator in queue mode: nothing is retained.",
            ),
        )
    ),
)
