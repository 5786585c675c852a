"""What crosses module boundaries, written once: the template metadata the stack writes and the
deploy, gates and cfn-lint rules read; the stack-tag keys; the stateful resource types; the
handler artifact reference.

Standard library only, so the cheapest reader (a cfn-lint rule, ``lint``) pays nothing for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The Metadata key under which this project records what it wants its readers to know.
METADATA_KEY = "ServerlessApp"

# Stack tags the deploy writes and `status` reads: what is deployed, from which commit.
TEMPLATE_TAG = "template-sha256"
HANDLER_TAG = "handler-sha256"
COMMIT_TAG = "git-commit"

# Tags of a preview stack (docs/previews.md): what it previews (the CI preview role's conditions
# match it), its name, its pull request, and when `previews --expired --destroy` may delete it.
PREVIEW_OF_TAG = "PreviewOf"
PREVIEW_TAG = "Preview"
PULL_REQUEST_TAG = "PullRequest"
EXPIRES_AT_TAG = "ExpiresAt"
PREVIEW_TTL_HOURS = 72  # a preview's life unless --ttl-hours says otherwise

# GitHub Actions cannot loop over a list of waves, so the deploy workflow has a fixed number of
# wave slots (see docs/environments-rollout.md); deploy.wave is 1..MAX_WAVES.
MAX_WAVES = 4

# Resource types whose replacement or removal loses data (or, for a key, the data it encrypts).
# The retention policies, the deploy guard, the stack policy and cfn-lint rule E9001 use this set.
STATEFUL_TYPES = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
        "AWS::KMS::Key",
        "AWS::SQS::Queue",
        "AWS::Logs::LogGroup",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::EFS::FileSystem",
        "AWS::Kinesis::Stream",
    }
)


@dataclass(frozen=True)
class ArtifactRef:
    """Where the handler's code is: the artifact bucket's key and the zip's sha256."""

    key: str
    sha256: str


@dataclass(frozen=True)
class ArtifactFile(ArtifactRef):
    """A built handler zip on disk, with its reference."""

    path: Path
    size: int


def _block(holder: Any) -> Mapping[str, Any]:
    """The ``Metadata.ServerlessApp`` mapping of a template or resource; empty when absent."""
    metadata = holder.get("Metadata") if isinstance(holder, Mapping) else None
    block = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    return block if isinstance(block, Mapping) else {}


@dataclass(frozen=True)
class TemplateMetadata:
    """``Metadata.ServerlessApp`` of an application template."""

    notice: str
    environment: str
    account_id: str
    region: str
    retain_data: bool
    handler: ArtifactRef

    def to_metadata(self) -> dict[str, Any]:
        """The template's ``Metadata`` section."""
        return {
            METADATA_KEY: {
                "notice": self.notice,
                "environment": self.environment,
                "accountId": self.account_id,
                "region": self.region,
                "retainData": self.retain_data,
                "handlerSha256": self.handler.sha256,
                "handlerKey": self.handler.key,
            }
        }


def template_region(template: Any) -> str | None:
    """The region a template deploys to, when it says."""
    region = _block(template).get("region")
    return region if isinstance(region, str) and region else None


def template_retains_data(template: Any) -> bool:
    """Whether the template declares that it retains data."""
    flag = _block(template).get("retainData")
    # JSON gives a bool; YAML written by hand may give the string.
    return flag is True or (isinstance(flag, str) and flag.lower() == "true")


def template_handler(template: Any) -> ArtifactRef | None:
    """The handler build the template was generated for; None when it does not say."""
    block = _block(template)
    sha, key = block.get("handlerSha256"), block.get("handlerKey")
    if not sha or not key:
        return None
    return ArtifactRef(key=str(key), sha256=str(sha))


@dataclass(frozen=True)
class ResourceMetadata:
    """``Metadata.ServerlessApp`` of one resource."""

    # An alarm the deploy makes a CloudFormation rollback trigger.
    rollback_trigger: bool = False
    # Why drift detection cannot check this resource (``status`` reports it as not checked).
    drift_not_checked: str | None = None

    def to_metadata(self) -> dict[str, Any]:
        """The entry to merge into the resource's ``Metadata``."""
        block: dict[str, Any] = {}
        if self.rollback_trigger:
            block["rollbackTrigger"] = True
        if self.drift_not_checked:
            block["driftNotChecked"] = self.drift_not_checked
        return {METADATA_KEY: block}

    @classmethod
    def of(cls, resource: Any) -> ResourceMetadata:
        """Parse a resource's metadata (absent or malformed: the defaults)."""
        block = _block(resource)
        reason = block.get("driftNotChecked")
        return cls(
            rollback_trigger=block.get("rollbackTrigger") is True,
            drift_not_checked=str(reason) if reason else None,
        )


# A change set's id as CloudFormation returns it and `plan --keep` records it in
# .state/plan-ENV.changeset: arn:PARTITION:cloudformation:REGION:ACCOUNT:changeSet/NAME/UUID.
CHANGE_SET_ARN = re.compile(
    r"^arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:[0-9]{12}:changeSet/[A-Za-z][-A-Za-z0-9]*/[-a-f0-9]+$"
)
