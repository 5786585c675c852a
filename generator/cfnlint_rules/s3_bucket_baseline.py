"""E9003: every bucket is encrypted, versioned, closed to the public and TLS-only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

PUBLIC_ACCESS_FLAGS = (
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
)


def is_true(value: Any) -> bool:
    """A CloudFormation boolean: JSON true or the string 'true'."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    """A CloudFormation boolean false, also as the one-element list IAM conditions allow."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value is False or (isinstance(value, str) and value.lower() == "false")


def statements(value: Any) -> Iterator[dict[str, Any]]:
    """Every statement below ``value``, through lists and both branches of ``Fn::If``."""
    if isinstance(value, list):
        for item in value:
            yield from statements(item)
    elif isinstance(value, dict) and list(value) == ["Fn::If"]:
        branches = value["Fn::If"]
        if isinstance(branches, list) and len(branches) == 3:
            yield from statements(branches[1])
            yield from statements(branches[2])
    elif isinstance(value, dict):
        yield value


def denies_plain_http(statement: dict[str, Any]) -> bool:
    """Whether a statement denies requests made without TLS (``aws:SecureTransport`` false)."""
    condition = statement.get("Condition")
    test = condition.get("Bool") if isinstance(condition, dict) else None
    return (
        statement.get("Effect") == "Deny"
        and isinstance(test, dict)
        and is_false(test.get("aws:SecureTransport"))
    )


def targets(policy_bucket: Any, name: str, bucket_name: Any) -> bool:
    """Whether a bucket policy's ``Bucket`` names this bucket: a Ref, or its very BucketName."""
    return policy_bucket == {"Ref": name} or (
        bucket_name is not None and policy_bucket == bucket_name
    )


def tls_only(name: str, bucket_name: Any, policies: dict[str, Any]) -> bool:
    """Whether some bucket policy in the template denies non-TLS requests to this bucket."""
    for policy in policies.values():
        properties = policy.get("Properties") if isinstance(policy, dict) else None
        if not isinstance(properties, dict):
            continue
        if not targets(properties.get("Bucket"), name, bucket_name):
            continue
        document = properties.get("PolicyDocument")
        if isinstance(document, dict) and any(
            denies_plain_http(statement) for statement in statements(document.get("Statement"))
        ):
            return True
    return False


def encrypted(properties: dict[str, Any]) -> bool:
    """Whether every default-encryption rule names an algorithm (and there is at least one)."""
    encryption = properties.get("BucketEncryption")
    rules = (
        encryption.get("ServerSideEncryptionConfiguration")
        if isinstance(encryption, dict)
        else None
    )
    if not isinstance(rules, list) or not rules:
        return False
    for rule in rules:
        default = rule.get("ServerSideEncryptionByDefault") if isinstance(rule, dict) else None
        if not isinstance(default, dict) or not default.get("SSEAlgorithm"):
            return False
    return True


def problems(name: str, properties: dict[str, Any], policies: dict[str, Any]) -> list[str]:
    """Everything one bucket lacks, each as a message naming the bucket and the expectation."""
    found = []
    if not encrypted(properties):
        found.append(
            f"S3 bucket {name} is not encrypted; expected BucketEncryption."
            "ServerSideEncryptionConfiguration with an SSEAlgorithm"
        )
    versioning = properties.get("VersioningConfiguration")
    status = versioning.get("Status") if isinstance(versioning, dict) else None
    if status != "Enabled":
        found.append(
            f"S3 bucket {name} is not versioned (VersioningConfiguration.Status {status!r}); "
            "expected 'Enabled'"
        )
    block = properties.get("PublicAccessBlockConfiguration")
    block = block if isinstance(block, dict) else {}
    missing = [flag for flag in PUBLIC_ACCESS_FLAGS if not is_true(block.get(flag))]
    if missing:
        found.append(
            f"S3 bucket {name} does not block public access ({', '.join(missing)} not true); "
            "expected all four PublicAccessBlockConfiguration flags true"
        )
    if not tls_only(name, properties.get("BucketName"), policies):
        found.append(
            f"S3 bucket {name} accepts plain HTTP; expected an AWS::S3::BucketPolicy on it with a "
            "Deny statement on condition Bool aws:SecureTransport false"
        )
    return found


class BucketBaseline(CloudFormationLintRule):  # type: ignore[misc]  # cfnlint is untyped
    """Buckets are encrypted, versioned, private and TLS-only."""

    id = "E9003"
    shortdesc = "S3 buckets are encrypted, versioned, private and TLS-only"
    description = (
        "Every S3 bucket has default encryption, versioning enabled, all four public access "
        "blocks on, and a bucket policy denying requests without TLS"
    )
    source_url = (
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"
    )
    tags: ClassVar[list[str]] = ["s3", "encryption", "serverlessapp"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        """One match per missing safeguard per bucket."""
        policies = cfn.get_resources(["AWS::S3::BucketPolicy"])
        matches = []
        for name, bucket in cfn.get_resources(["AWS::S3::Bucket"]).items():
            properties = bucket.get("Properties")
            has_properties = isinstance(properties, dict)
            path = ["Resources", name, "Properties"] if has_properties else ["Resources", name]
            for message in problems(name, properties if has_properties else {}, policies):
                matches.append(RuleMatch(path, message))
        return matches
