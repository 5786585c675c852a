"""Create, wait for, read and delete change sets."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator import naming
from generator.clock import Clock, Deadline, poll, quickly_then
from generator.deploy.aws import (
    aware_utc,
    error_code,
    error_message,
    is_missing_change_set,
    pages,
)
from generator.errors import ExitCode, GeneratorError
from generator.render import to_json

CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM")
# CloudFormation's reasons for a change set that changes nothing (a success for us).
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# A change set is usually ready within a second or two.
_POLL_SECONDS = quickly_then((0.5, 1.0, 1.5), 3.0)
# A change set's creation normally takes seconds; this bounds a stuck one.
CREATE_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class PropertyChange:
    """One changed attribute of a resource, and whether it forces a new resource."""

    attribute: str
    name: str
    requires_recreation: str  # Never | Conditionally | Always | ""
    change_source: str
    # With IncludePropertyValues: the property's path (``/Properties/MemorySize``), its values
    # (strings as CloudFormation sends them; None when absent), and Add | Remove | Modify.
    path: str = ""
    before_value: str | None = None
    after_value: str | None = None
    attribute_change_type: str = ""
    # The parameter or resource named by a ParameterReference/ResourceReference change.
    causing_entity: str = ""


@dataclass(frozen=True)
class Change:
    """One resource change in a change set."""

    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    physical_id: str = ""
    replacement: str = ""  # True | False | Conditional | "" (not applicable)
    scope: tuple[str, ...] = ()
    details: tuple[PropertyChange, ...] = ()
    policy_action: str = ""  # Delete | Retain | Snapshot | ReplaceAndDelete | ... | ""
    drift_status: str = ""  # ResourceDriftStatus of a drift-aware (REVERT_DRIFT) change set

    @property
    def destructive(self) -> bool:
        """Removes the resource or may replace it (its data goes with the old one)."""
        return self.action == "Remove" or self.replacement in ("True", "Conditional")


@dataclass(frozen=True)
class ChangeSet:
    """A created change set and every one of its changes."""

    id: str
    name: str
    stack_id: str
    stack_name: str
    status: str
    execution_status: str
    status_reason: str = ""
    description: str = ""
    changes: tuple[Change, ...] = field(default_factory=tuple)
    created_at: datetime | None = None  # CreationTime: when the plan was made
    parameters: tuple[tuple[str, str], ...] = ()  # (key, value), in CloudFormation's order
    capabilities: tuple[str, ...] = ()
    deployment_mode: str = ""  # REVERT_DRIFT for a drift-aware change set, else ""
    # What the change set would give the stack besides its template and parameters:
    tags: tuple[tuple[str, str], ...] = ()  # (key, value), in CloudFormation's order
    notification_arns: tuple[str, ...] = ()
    rollback_triggers: tuple[tuple[str, str], ...] = ()  # (alarm ARN, type)
    rollback_monitoring_minutes: int = 0  # 0 when CloudFormation reports none
    import_existing_resources: bool = False
    on_stack_failure: str = ""  # "" when CloudFormation reports none (its default, ROLLBACK)


class NoChanges(Exception):
    """The change set changes nothing (CloudFormation refused to create it for that reason)."""

    def __init__(self, change_set_id: str, reason: str) -> None:
        super().__init__(reason)
        self.change_set_id = change_set_id


class ChangeSetMissing(GeneratorError):
    """The change set does not exist (deleted, or dropped after its stack ran a change set)."""


def template_sha256(body: str) -> str:
    """The sha256 of a template's text, as tagged on the stack."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def change_set_name(
    environment: str,
    template_hash: str,
    now: datetime,
    purpose: str = naming.CHANGE_SET_DEPLOY,
    nonce: str | None = None,
) -> str:
    """A unique, readable name: purpose (``pr``, ``kept``, ``deploy``: the prefix IAM holds
    each CI role to, naming.CHANGE_SET_*), environment, short template hash, UTC time to the
    millisecond, and a random nonce: two plans of one stack in the same moment (two checkouts,
    two CI jobs) never share a name, which CloudFormation would refuse."""
    utc = now.astimezone(UTC)
    stamp = f"{utc:%Y%m%dT%H%M%S}{utc.microsecond // 1000:03d}Z"
    nonce = nonce if nonce is not None else secrets.token_hex(3)
    name = f"{purpose}-{environment}-{template_hash[:12]}-{stamp}-{nonce}"
    # Change set names allow only letters, digits and hyphens, starting with a letter.
    return re.sub(r"[^A-Za-z0-9-]", "-", name)[:128]


def explicit_parameters(template: dict[str, Any], values: dict[str, str]) -> list[dict[str, str]]:
    """Every template parameter with an explicit value; never CloudFormation's previous value."""
    declared = template.get("Parameters", {}) or {}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise GeneratorError(
            f"parameters {unknown} are not declared by the template; expected some of "
            f"{sorted(declared)}",
            ExitCode.USAGE,
        )
    result = []
    for name in sorted(declared):
        if name in values:
            value = values[name]
        elif "Default" in declared[name]:
            value = str(declared[name]["Default"])
        else:
            raise GeneratorError(
                f"template parameter {name!r} has no default and no value was given; "
                "expected every parameter to have an explicit value",
                ExitCode.USAGE,
            )
        result.append({"ParameterKey": name, "ParameterValue": value})
    return result


def encode_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags in CloudFormation's list form, sorted by key."""
    return [{"Key": key, "Value": tags[key]} for key in sorted(tags)]


@dataclass(frozen=True)
class ChangeSetRequest:
    """Everything a change set is created from."""

    stack_name: str
    name: str
    change_set_type: str  # CREATE | UPDATE
    template_body: str | None
    template_url: str | None
    parameters: tuple[dict[str, str], ...]
    tags: dict[str, str]
    description: str
    notification_arns: tuple[str, ...] = ()
    rollback_triggers: tuple[dict[str, str], ...] = ()
    rollback_monitoring_minutes: int = 0
    role_arn: str | None = None  # the role CloudFormation uses for the stack's resources
    deployment_mode: str | None = None  # REVERT_DRIFT: a drift-aware change set that reverts drift


def create_change_set(cfn: Any, request: ChangeSetRequest) -> str:
    """Create the change set; return its id (its ARN)."""
    kwargs: dict[str, Any] = {
        "StackName": request.stack_name,
        "ChangeSetName": request.name,
        "ChangeSetType": request.change_set_type,
        "Parameters": list(request.parameters),
        "Capabilities": list(CAPABILITIES),
        "Tags": encode_tags(request.tags),
        "Description": request.description,
        "NotificationARNs": list(request.notification_arns),
        "RollbackConfiguration": {
            "RollbackTriggers": list(request.rollback_triggers),
            "MonitoringTimeInMinutes": request.rollback_monitoring_minutes,
        },
    }
    if request.role_arn:
        kwargs["RoleARN"] = request.role_arn
    if request.deployment_mode:
        kwargs["DeploymentMode"] = request.deployment_mode
    if request.template_url:
        kwargs["TemplateURL"] = request.template_url
    else:
        kwargs["TemplateBody"] = request.template_body
    try:
        reply = cfn.create_change_set(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        # CreateChangeSet is not idempotent: when its reply was lost, botocore's retry is refused
        # (AlreadyExistsException) or the transport gave up, though the change set may exist.
        # Its name is this run's alone (a nonce), so one by that name is the one we asked for.
        made = _created_meanwhile(cfn, request) if _maybe_made(exc) else None
        if made is not None:
            return made
        reason = error_message(exc) if isinstance(exc, ClientError) else str(exc)
        if isinstance(exc, ClientError) and "_IN_PROGRESS state" in reason:
            raise GeneratorError(
                f"stack {request.stack_name} is busy with another operation (started after "
                f"this run looked): {reason} Nothing was changed; run again when it has finished",
                ExitCode.BLOCKED,
            ) from None
        raise GeneratorError(
            f"CloudFormation refused to create change set {request.name} for stack "
            f"{request.stack_name}: {reason}",
            ExitCode.FAILED,
        ) from None
    return str(reply["Id"])


def _maybe_made(exc: ClientError | BotoCoreError) -> bool:
    """Whether the failed call may have created the change set nonetheless."""
    return isinstance(exc, BotoCoreError) or error_code(exc) == "AlreadyExistsException"


def _created_meanwhile(cfn: Any, request: ChangeSetRequest) -> str | None:
    """The id of this request's change set if CloudFormation made it (None: it did not)."""
    try:
        reply = cfn.describe_change_set(ChangeSetName=request.name, StackName=request.stack_name)
    except ClientError as exc:
        if is_missing_change_set(exc):
            return None
        raise
    return str(reply["ChangeSetId"])


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def _parse_detail(raw: dict[str, Any]) -> PropertyChange:
    target = raw.get("Target", {}) or {}
    return PropertyChange(
        attribute=str(target.get("Attribute", "")),
        name=str(target.get("Name", "") or ""),
        requires_recreation=str(target.get("RequiresRecreation", "")),
        change_source=str(raw.get("ChangeSource", "")),
        path=str(target.get("Path", "") or ""),
        before_value=_optional(target.get("BeforeValue")),
        after_value=_optional(target.get("AfterValue")),
        attribute_change_type=str(target.get("AttributeChangeType", "") or ""),
        causing_entity=str(raw.get("CausingEntity", "") or ""),
    )


def _parse_change(item: dict[str, Any]) -> Change | None:
    resource = item.get("ResourceChange")
    if item.get("Type") != "Resource" or not resource:
        return None
    details = tuple(_parse_detail(d) for d in resource.get("Details", []))
    return Change(
        action=str(resource.get("Action", "")),
        logical_id=str(resource.get("LogicalResourceId", "")),
        resource_type=str(resource.get("ResourceType", "")),
        physical_id=str(resource.get("PhysicalResourceId", "")),
        replacement=str(resource.get("Replacement", "")),
        scope=tuple(str(s) for s in resource.get("Scope", [])),
        details=details,
        policy_action=str(resource.get("PolicyAction", "")),
        drift_status=str(resource.get("ResourceDriftStatus", "") or ""),
    )


def is_no_changes(status_reason: str) -> bool:
    """Whether a FAILED change set failed only because it changes nothing."""
    return any(marker in status_reason for marker in _NO_CHANGES)


def describe_change_set(cfn: Any, change_set_id: str) -> ChangeSet:
    """Read a change set, following every page of its changes, with before/after values.

    ``IncludePropertyValues`` makes CloudFormation send each changed property's path and its
    values (the plan shows them, redacted by ``generator.deploy.values``).
    """
    try:
        read = list(
            pages(
                cfn,
                "describe_change_set",
                ChangeSetName=change_set_id,
                IncludePropertyValues=True,
            )
        )
    except ClientError as exc:
        message = f"cannot read change set {change_set_id}: {error_message(exc)}"
        # A read failure (throttling, AccessDenied) is a failed deploy (4); only the guard
        # and stale plans are "blocked" (3). A kept plan turns "missing" into stale.
        if error_code(exc) == "ChangeSetNotFound":
            raise ChangeSetMissing(message, ExitCode.FAILED) from None
        raise GeneratorError(message, ExitCode.FAILED) from None
    first = read[0]
    rollback = first.get("RollbackConfiguration", {}) or {}
    changes = tuple(
        change
        for page in read
        for item in page.get("Changes", [])
        if (change := _parse_change(item)) is not None
    )
    return ChangeSet(
        id=str(first.get("ChangeSetId", change_set_id)),
        name=str(first.get("ChangeSetName", "")),
        stack_id=str(first.get("StackId", "")),
        stack_name=str(first.get("StackName", "")),
        status=str(first.get("Status", "")),
        execution_status=str(first.get("ExecutionStatus", "")),
        status_reason=str(first.get("StatusReason", "")),
        description=str(first.get("Description", "")),
        changes=changes,
        created_at=aware_utc(first.get("CreationTime")),
        parameters=tuple(
            (str(p.get("ParameterKey", "")), str(p.get("ParameterValue", "")))
            for p in first.get("Parameters", []) or []
        ),
        capabilities=tuple(str(c) for c in first.get("Capabilities", []) or []),
        deployment_mode=str(first.get("DeploymentMode", "") or ""),
        tags=tuple(
            (str(t.get("Key", "")), str(t.get("Value", ""))) for t in first.get("Tags", []) or []
        ),
        notification_arns=tuple(str(a) for a in first.get("NotificationARNs", []) or []),
        rollback_triggers=tuple(
            (str(t.get("Arn", "")), str(t.get("Type", "")))
            for t in rollback.get("RollbackTriggers", []) or []
        ),
        rollback_monitoring_minutes=int(rollback.get("MonitoringTimeInMinutes", 0) or 0),
        import_existing_resources=bool(first.get("ImportExistingResources", False)),
        on_stack_failure=str(first.get("OnStackFailure", "") or ""),
    )


def change_set_template(cfn: Any, stack_name: str, change_set_id: str) -> Any:
    """The template a change set was made from, as CloudFormation keeps it (not as described).

    boto3 hands a JSON body over already parsed (a dict); any other body stays text.
    """
    try:
        reply = cfn.get_template(
            StackName=stack_name, ChangeSetName=change_set_id, TemplateStage="Original"
        )
    except ClientError as exc:
        message = f"cannot read the template of change set {change_set_id}: {error_message(exc)}"
        if error_code(exc) == "ChangeSetNotFound":
            raise ChangeSetMissing(message, ExitCode.FAILED) from None
        raise GeneratorError(message, ExitCode.FAILED) from None
    return reply.get("TemplateBody", "")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        # Parsers disagree on which duplicate wins: such a body never counts as the committed one.
        raise ValueError(f"duplicate keys {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def canonical_template_sha256(template: Any) -> str:
    """The sha256 of a template in the generator's canonical JSON (``render.to_json``).

    The committed templates are written in that form, so for them this equals
    ``template_sha256`` of the file (the stack's template-sha256 tag). A body that is not JSON
    (YAML, or JSON with duplicate keys) is hashed as it is: it can never match a committed one.
    """
    if isinstance(template, str):
        try:
            template = json.loads(template, object_pairs_hook=_unique_keys)
        except ValueError:
            return template_sha256(template)
    return template_sha256(to_json(template))


def wait_for_change_set(
    cfn: Any, change_set_id: str, clock: Clock, timeout_seconds: float = CREATE_TIMEOUT_SECONDS
) -> ChangeSet:
    """Wait until the change set is created; raise NoChanges when it changes nothing."""
    deadline = Deadline(clock, timeout_seconds)
    last: list[ChangeSet] = []

    def created() -> ChangeSet | None:
        change_set = describe_change_set(cfn, change_set_id)
        last[:] = [change_set]
        if change_set.status == "CREATE_COMPLETE":
            return change_set
        if change_set.status == "FAILED":
            if is_no_changes(change_set.status_reason):
                raise NoChanges(change_set.id, change_set.status_reason)
            raise GeneratorError(
                f"change set {change_set.name} failed: {change_set.status_reason}",
                ExitCode.FAILED,
            )
        return None

    def timed_out(now: float) -> GeneratorError:
        return GeneratorError(
            f"change set {last[0].name} still {last[0].status} after "
            f"{timeout_seconds:.0f}s; expected CREATE_COMPLETE",
            ExitCode.TIMED_OUT,
        )

    return poll(deadline, _POLL_SECONDS, created, timed_out)


def delete_change_set(cfn: Any, change_set_id: str) -> None:
    """Delete a change set (a missing one is already deleted)."""
    try:
        cfn.delete_change_set(ChangeSetName=change_set_id)
    except ClientError as exc:
        if not is_missing_change_set(exc):
            raise


@dataclass(frozen=True)
class PlanRecord:
    """What a plan noted in its change set's Description, for people reading it.

    Informational only: whoever creates a change set writes its Description, so a kept plan's
    freshness is never judged from it (see ``apply.stale_reasons``).
    """

    template_sha256: str
    stack_last_updated: str  # ISO time of the stack's last change, or "new"

    def encode(self) -> str:
        """As the change set's description (CloudFormation keeps it with the change set)."""
        return json.dumps(
            {"template-sha256": self.template_sha256, "stack-updated": self.stack_last_updated},
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> PlanRecord | None:
        """The record in a change set's description, or None when it holds none."""
        try:
            data = json.loads(text)
            return cls(str(data["template-sha256"]), str(data["stack-updated"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Listed:
    """One of a stack's change sets as ListChangeSets shows it."""

    id: str
    name: str
    status: str
    execution_status: str
    created: datetime | None

    @property
    def purpose(self) -> str:
        """The name's prefix: ``pr``, ``kept``, ``deploy`` (this tool's), or another's."""
        return self.name.split("-", 1)[0]


def list_change_sets(cfn: Any, stack: str) -> list[Listed]:
    """The stack's change sets (none when the stack does not exist)."""
    found = []
    try:
        for page in pages(cfn, "list_change_sets", StackName=stack):
            for item in page.get("Summaries", []):
                found.append(
                    Listed(
                        str(item.get("ChangeSetId", "")),
                        str(item.get("ChangeSetName", "")),
                        str(item.get("Status", "")),
                        str(item.get("ExecutionStatus", "")),
                        aware_utc(item.get("CreationTime")),
                    )
                )
    except ClientError as exc:
        if is_missing_change_set(exc):
            return []
        raise
    return found


# Purposes whose change sets live only as long as the run that made them.
SHORT_LIVED = (naming.CHANGE_SET_PR, naming.CHANGE_SET_DEPLOY)


def orphans(listed: list[Listed], now: datetime, lifetime_seconds: float) -> list[Listed]:
    """Change sets of this tool's short-lived runs (``pr-``, ``deploy-``) that no run can still
    be using: never executed and older than the longest a run may take (its deadline). A run
    killed before it deleted its change set leaves one."""
    oldest = now.timestamp() - lifetime_seconds
    return [
        c for c in listed
        if c.purpose in SHORT_LIVED
        and c.execution_status in ("AVAILABLE", "UNAVAILABLE")
        and c.created is not None and c.created.timestamp() < oldest
    ]  # fmt: skip
