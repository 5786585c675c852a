"""ARNs, built in one place for the templates (``Fn::Sub`` text), CI access and the deploy."""

from __future__ import annotations

from typing import Protocol

# CloudFormation pseudo parameters, for ARNs inside a template's ``Fn::Sub``.
PARTITION = "${AWS::Partition}"
REGION = "${AWS::Region}"
ACCOUNT = "${AWS::AccountId}"


def arn(
    service: str,
    resource: str,
    *,
    region: str = REGION,
    account: str = ACCOUNT,
    partition: str = PARTITION,
) -> str:
    """``arn:partition:service:region:account:resource``; global services pass ``region=""``."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


class Placed(Protocol):
    """Where an environment lives (``config.Environment`` is one)."""

    @property
    def account_id(self) -> str: ...

    @property
    def region(self) -> str: ...


def env_arn(env: Placed, service: str, resource: str, *, regional: bool = True) -> str:
    """An ARN in the environment's own account and region, known from its file before any stack
    exists (the partition stays a pseudo parameter); ``regional=False`` for IAM and the other
    services whose ARNs name no region."""
    return arn(service, resource, region=env.region if regional else "", account=env.account_id)


def bucket_arn(bucket_name: str, partition: str = PARTITION) -> str:
    """A bucket's ARN (S3 names carry neither region nor account)."""
    return arn("s3", bucket_name, region="", account="", partition=partition)


def objects_arn(bucket_name: str, prefix: str = "", partition: str = PARTITION) -> str:
    """The ARN of the objects under ``prefix`` in a bucket."""
    return bucket_arn(f"{bucket_name}/{prefix}*", partition)


def secret_resource(secret_name: str) -> str:
    """The resource part of a secret's ARN, any version of it: Secrets Manager appends a dash
    and six random characters to the name. Exactly six (``??????``, not ``*``): ``app-*`` would
    also match another secret named ``app-admin``."""
    return f"secret:{secret_name}-??????"
