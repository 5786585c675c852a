"""CloudFormation resource types that moto 5.2.5 lacks or only half-supports, for the emulator.

moto builds its CloudFormation type map from ``CloudFormationModel.__subclasses__()``, so each
class below becomes a resource type by existing. Importing this module alone changes nothing:
while the extension is not installed every class reports an inert type name, so moto keeps its
own behaviour (tests in the same process that expect plain moto are not affected).
``generator.emulator.extension.install`` switches them on.

Each type supports create, update and delete. What the emulator cannot honour is recorded and
documented rather than applied (see ``BucketPolicy``).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import string
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Self, cast

from moto.awslambda.models import EventSourceMapping as MotoEventSourceMapping
from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.iam.models import iam_backends
from moto.kms.models import Key, kms_backends
from moto.s3.exceptions import BucketNotEmpty, MissingBucket
from moto.s3.models import FakeBucket, s3_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.utilities.utils import get_partition

_INERT_PREFIX = "Emulator::Inactive::"
_state = {"active": False}

# Bucket policies the emulator recorded but did not apply, by (account, bucket name).
RECORDED_BUCKET_POLICIES: dict[tuple[str, str], dict[str, Any]] = {}


def set_active(active: bool) -> None:
    """Report the real AWS type names (installed) or inert ones (moto's own behaviour)."""
    _state["active"] = active


def _cfn_type(aws_type: str) -> str:
    return aws_type if _state["active"] else _INERT_PREFIX + aws_type


def _props(cloudformation_json: Mapping[str, Any]) -> dict[str, Any]:
    return dict(cloudformation_json.get("Properties") or {})


def _tag_list(props: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags") or []]


# ---------------------------------------------------------------------------------------------
# What the types share. These are mixins, NOT CloudFormationModel subclasses: moto registers only
# the direct subclasses of CloudFormationModel, so every concrete type below names
# CloudFormationModel as a base itself (a CloudFormationModel base class here would register
# instead of its subclasses).
# ---------------------------------------------------------------------------------------------


class _Typed:
    """Reports ``AWS_TYPE`` while the extension is installed, an inert name otherwise."""

    AWS_TYPE: ClassVar[str]

    @classmethod
    def cloudformation_type(cls) -> str:
        return _cfn_type(cls.AWS_TYPE)


class ResourceType(_Typed):
    """A type moto lacks: each subclass states its Ref, attributes, create and removal.

    An update creates the resource again from the new properties (puts overwrite), first deleting
    the old one where ``_deleted_on_update`` says so.
    """

    NAME_PROPERTY: ClassVar[str] = ""  # the property that names the resource, if any
    GET_ATT: ClassVar[Mapping[str, str]] = {}  # Fn::GetAtt attribute -> instance attribute
    REF: ClassVar[str] = ""  # the instance attribute ``Ref`` returns, unless overridden

    @property
    def physical_resource_id(self) -> str:
        """What ``Ref`` returns."""
        if not self.REF:
            raise NotImplementedError
        return str(getattr(self, self.REF))

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.GET_ATT

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name in self.GET_ATT:
            return str(getattr(self, self.GET_ATT[attribute_name]))
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        return cls._create(resource_name, _props(cloudformation_json), account_id, region_name)

    @classmethod
    def _create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> Self:
        """Create ``resource_name`` (the template's name or moto's generated one)."""
        raise NotImplementedError

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Self,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Self:
        if original_resource._deleted_on_update(new_resource_name):
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def _deleted_on_update(self, new_resource_name: str) -> bool:
        """Whether an update deletes the old resource before creating the new one."""
        return False

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls._remove(resource_name, _props(cloudformation_json), account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Remove the resource (moto's path for stack deletes and replacements)."""
        self._remove(self.physical_resource_id, {}, account_id, region_name)

    @classmethod
    def _remove(
        cls, physical_id: str, props: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        """Undo the create, by ``Ref`` value and (when moto has them) properties; default: no-op."""


class _Amended(_Typed):
    """A moto type kept as it is, plus what ``_amend`` applies after moto's create and update."""

    MOTO: ClassVar[type[CloudFormationModel]]  # moto's own model, which does the work

    @classmethod
    def _amend(cls, resource: Any, props: Mapping[str, Any], account_id: str, region: str) -> None:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource = cls.MOTO.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        cls._amend(resource, _props(cloudformation_json), account_id, region_name)
        return resource

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        resource = cls.MOTO.update_from_cloudformation_json(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        cls._amend(resource, _props(cloudformation_json), account_id, region_name)
        return resource


# ---------------------------------------------------------------------------------------------
# Secrets Manager
# ---------------------------------------------------------------------------------------------

_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def generate_password(spec: Mapping[str, Any]) -> str:
    """A random password following a ``GenerateSecretString`` block's character rules."""
    length = int(spec.get("PasswordLength", 32))
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    classes = [
        ("ExcludeLowercase", string.ascii_lowercase),
        ("ExcludeUppercase", string.ascii_uppercase),
        ("ExcludeNumbers", string.digits),
        ("ExcludePunctuation", _PUNCTUATION),
    ]
    pools = [
        "".join(c for c in chars if c not in excluded)
        for flag, chars in classes
        if not spec.get(flag, False)
    ]
    if spec.get("IncludeSpace", False):
        pools.append(" ")
    pools = [p for p in pools if p]
    if not pools or length < len(pools):
        raise ValueError(
            f"GenerateSecretString {dict(spec)!r} leaves no characters for a {length}-character "
            "password; expected at least one allowed character class"
        )
    alphabet = "".join(pools)
    chars = [secrets.choice(alphabet) for _ in range(length)]
    if spec.get("RequireEachIncludedType", True):
        # One of each class at distinct positions, like Secrets Manager's default.
        positions = secrets.SystemRandom().sample(range(length), len(pools))
        for pos, pool in zip(positions, pools, strict=True):
            chars[pos] = secrets.choice(pool)
    return "".join(chars)


def secret_string(props: Mapping[str, Any]) -> str | None:
    """The value a Secret's properties ask for: ``SecretString`` or a generated one."""
    if "SecretString" in props:
        return str(props["SecretString"])
    spec = props.get("GenerateSecretString")
    if spec is None:
        return None
    password = generate_password(spec)
    template = spec.get("SecretStringTemplate")
    key = spec.get("GenerateStringKey")
    if template is None or key is None:
        return password
    document = json.loads(template)
    document[key] = password
    return json.dumps(document)


class Secret(ResourceType, CloudFormationModel):
    """``AWS::SecretsManager::Secret``: Ref is the ARN, like CloudFormation's."""

    AWS_TYPE = "AWS::SecretsManager::Secret"
    REF = "arn"
    NAME_PROPERTY = "Name"
    GET_ATT: ClassVar[Mapping[str, str]] = {"Id": "arn"}

    def __init__(self, arn: str, name: str, properties: dict[str, Any]) -> None:
        self.arn = arn
        self.name = name
        self.properties = properties

    @classmethod
    def _create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> Secret:
        backend = secretsmanager_backends[account_id][region_name]
        backend.create_secret(
            name=resource_name,
            secret_string=secret_string(props),
            secret_binary=None,
            description=props.get("Description"),
            tags=_tag_list(props) or None,
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        arn = backend.describe_secret(resource_name).arn
        return cls(arn, resource_name, props)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Secret,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Secret:
        props = _props(cloudformation_json)
        if props.get("Name", original_resource.name) != original_resource.name:
            # A new name is a new secret (CloudFormation replaces it).
            new = cls.create_from_cloudformation_json(
                props["Name"], cloudformation_json, account_id, region_name
            )
            original_resource.delete(account_id, region_name)
            return new
        backend = secretsmanager_backends[account_id][region_name]
        old = original_resource.properties
        value_changed = props.get("SecretString") != old.get("SecretString") or props.get(
            "GenerateSecretString"
        ) != old.get("GenerateSecretString")
        backend.update_secret(
            original_resource.arn,
            secret_string=secret_string(props) if value_changed else None,
            # moto refuses an update without a request token, as the API would without botocore.
            client_request_token=str(uuid.uuid4()),
            description=props.get("Description"),
            kms_key_id=props.get("KmsKeyId"),
        )
        tags = {t["Key"]: t["Value"] for t in _tag_list(props)}
        if tags:
            backend.tag_resource(original_resource.arn, tags)
        original_resource.properties = props
        return original_resource

    @classmethod
    def _remove(
        cls, physical_id: str, props: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        # Without a recovery window, so a recreated stack can reuse the name.
        secretsmanager_backends[account_id][region_name].delete_secret(physical_id, None, True)


# ---------------------------------------------------------------------------------------------
# CloudWatch alarms
# ---------------------------------------------------------------------------------------------


def _put_alarm(name: str, props: Mapping[str, Any], account_id: str, region_name: str) -> str:
    backend = cloudwatch_backends[account_id][region_name]
    alarm = backend.put_metric_alarm(
        name=name,
        namespace=str(props.get("Namespace", "")),
        metric_name=str(props.get("MetricName", "")),
        comparison_operator=str(props["ComparisonOperator"]),
        evaluation_periods=int(props.get("EvaluationPeriods", 1)),
        period=int(props.get("Period", 60)),
        threshold=float(props.get("Threshold", 0)),
        statistic=str(props.get("Statistic", "")),
        description=str(props.get("AlarmDescription", "")),
        dimensions=[
            {"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions") or []
        ],
        alarm_actions=list(props.get("AlarmActions") or []),
        # Metric-math alarms (``Metrics``) are recorded without their queries: moto only
        # stores alarms, it never evaluates them.
        metric_data_queries=None,
        datapoints_to_alarm=props.get("DatapointsToAlarm"),
        extended_statistic=props.get("ExtendedStatistic"),
        ok_actions=list(props.get("OKActions") or []),
        insufficient_data_actions=list(props.get("InsufficientDataActions") or []),
        unit=props.get("Unit"),
        actions_enabled=bool(props.get("ActionsEnabled", True)),
        treat_missing_data=props.get("TreatMissingData"),
        tags=_tag_list(props) or None,
    )
    return str(alarm.alarm_arn)


class Alarm(ResourceType, CloudFormationModel):
    """``AWS::CloudWatch::Alarm``: Ref is the name, ``GetAtt Arn`` the ARN."""

    AWS_TYPE = "AWS::CloudWatch::Alarm"
    REF = "name"
    NAME_PROPERTY = "AlarmName"
    GET_ATT: ClassVar[Mapping[str, str]] = {"Arn": "arn"}

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @classmethod
    def _create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> Alarm:
        return cls(resource_name, _put_alarm(resource_name, props, account_id, region_name))

    def _deleted_on_update(self, new_resource_name: str) -> bool:
        return new_resource_name != self.name  # a put under the same name replaces the alarm

    @classmethod
    def _remove(
        cls, physical_id: str, props: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([physical_id])


# ---------------------------------------------------------------------------------------------
# KMS key: moto passes CloudFormation's Key/Value tags to a tagger that wants TagKey/TagValue
# ---------------------------------------------------------------------------------------------


def _key_properties(cloudformation_json: Mapping[str, Any]) -> dict[str, Any]:
    props = _props(cloudformation_json)
    props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tag_list(props)]
    if isinstance(props.get("KeyPolicy"), dict):
        props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
    return props


# CloudFormation's default ``PendingWindowInDays`` for a deleted key.
DEFAULT_PENDING_WINDOW_DAYS = 30


class KmsKey(_Typed, Key, CloudFormationModel):
    """``AWS::KMS::Key``: moto's, with tags that work, an in-place update, and a delete that
    schedules the key's deletion (``PendingDeletion``) as CloudFormation does, instead of
    removing it at once."""

    AWS_TYPE = "AWS::KMS::Key"
    pending_window_in_days: int

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Key:
        props = _key_properties(cloudformation_json)
        fixed = {**cloudformation_json, "Properties": props}
        key = Key.create_from_cloudformation_json(
            resource_name, fixed, account_id, region_name, **kwargs
        )
        # moto builds a plain Key; this type's delete must apply to it.
        key.__class__ = cls
        scheduled = cast(KmsKey, key)
        scheduled.pending_window_in_days = int(
            props.get("PendingWindowInDays", DEFAULT_PENDING_WINDOW_DAYS)
        )
        return scheduled

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Key:
        props = _key_properties(cloudformation_json)
        original_resource.policy = props["KeyPolicy"]
        original_resource.description = props.get("Description", "")
        original_resource.key_rotation_status = props.get("EnableKeyRotation", False)
        original_resource.enabled = props.get("Enabled", True)
        if props["Tags"]:
            # The tagger takes the TagKey/TagValue list, as create_key gives it.
            kms_backends[account_id][region_name].tagger.tag_resource(
                original_resource.id, props["Tags"]
            )
        original_resource.pending_window_in_days = int(
            props.get("PendingWindowInDays", DEFAULT_PENDING_WINDOW_DAYS)
        )
        return original_resource  # type: ignore[no-any-return]

    def delete(self, account_id: str, region_name: str) -> None:
        """Schedule the key's deletion (moto's own delete removes it at once)."""
        kms_backends[account_id][region_name].schedule_key_deletion(
            self.id, self.pending_window_in_days
        )


# ---------------------------------------------------------------------------------------------
# S3 bucket policy (recorded, not applied) and the bucket's ignored properties
# ---------------------------------------------------------------------------------------------


class BucketPolicy(ResourceType, CloudFormationModel):
    """``AWS::S3::BucketPolicy``, recorded but NOT applied.

    moto evaluates bucket policies on every request but cannot evaluate conditions such as
    ``aws:SecureTransport``: a conditional Deny makes it refuse every GetObject and PutObject,
    even from the bucket's own function. The template keeps its policy; the emulator keeps a
    copy (``RECORDED_BUCKET_POLICIES``) so tests can inspect what would be applied.
    """

    AWS_TYPE = "AWS::S3::BucketPolicy"

    def __init__(self, account_id: str, bucket: str, policy: dict[str, Any]) -> None:
        self.account_id = account_id
        self.bucket = bucket
        self.policy = policy

    @property
    def physical_resource_id(self) -> str:
        return f"{self.bucket}-policy"

    @classmethod
    def _create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> BucketPolicy:
        bucket = str(props["Bucket"])
        s3_backends[account_id][get_partition(region_name)].get_bucket(bucket)  # must exist
        policy = dict(props.get("PolicyDocument") or {})
        RECORDED_BUCKET_POLICIES[(account_id, bucket)] = policy
        return cls(account_id, bucket, policy)

    def _deleted_on_update(self, new_resource_name: str) -> bool:
        return True

    @classmethod
    def _remove(
        cls, physical_id: str, props: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        RECORDED_BUCKET_POLICIES.pop((account_id, str(props.get("Bucket", ""))), None)

    def delete(self, account_id: str, region_name: str) -> None:
        """Forget the recorded policy."""
        RECORDED_BUCKET_POLICIES.pop((self.account_id, self.bucket), None)


def _notification_config(props: Mapping[str, Any]) -> dict[str, Any]:
    """A bucket's ``NotificationConfiguration`` in the shape moto's S3 API model takes."""
    source = props.get("NotificationConfiguration") or {}
    kinds = (
        ("LambdaConfigurations", "CloudFunctionConfiguration", "Function", "CloudFunction"),
        ("QueueConfigurations", "QueueConfiguration", "Queue", "Queue"),
        ("TopicConfigurations", "TopicConfiguration", "Topic", "Topic"),
    )
    config: dict[str, Any] = {}
    for cfn_key, api_key, cfn_target, api_target in kinds:
        entries = []
        for index, entry in enumerate(source.get(cfn_key) or []):
            item: dict[str, Any] = {
                "Id": f"{cfn_key}{index}",
                api_target: entry[cfn_target],
                "Event": [entry["Event"]],
            }
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
            if rules:
                item["Filter"] = {
                    "S3Key": {
                        "FilterRule": [
                            {"Name": r["Name"].lower(), "Value": r["Value"]} for r in rules
                        ]
                    }
                }
            entries.append(item)
        if entries:
            config[api_key] = entries
    return config


def apply_bucket_properties(
    bucket_name: str, props: Mapping[str, Any], account_id: str, region_name: str
) -> None:
    """Apply what moto's bucket type ignores: versioning, notifications, public access block."""
    backend = s3_backends[account_id][get_partition(region_name)]
    versioning = (props.get("VersioningConfiguration") or {}).get("Status")
    if versioning:
        backend.put_bucket_versioning(bucket_name, versioning)
    backend.put_bucket_notification_configuration(bucket_name, _notification_config(props))
    block = props.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(bucket_name, dict(block))


class Bucket(_Amended, FakeBucket, CloudFormationModel):
    """``AWS::S3::Bucket``: moto's, plus versioning, notifications and public access block; a
    delete fails on a bucket that still holds objects, as S3 does (moto silently keeps it)."""

    AWS_TYPE = "AWS::S3::Bucket"
    MOTO = FakeBucket

    @classmethod
    def _amend(cls, resource: Any, props: Mapping[str, Any], account_id: str, region: str) -> None:
        apply_bucket_properties(resource.name, props, account_id, region)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> None:
        backend = s3_backends[account_id][get_partition(region_name)]
        try:
            deleted = backend.delete_bucket(resource_name)
        except MissingBucket:
            return  # already gone: what the delete wanted
        if deleted is None:  # moto's answer for a bucket that still holds objects
            raise BucketNotEmpty(resource_name)


# ---------------------------------------------------------------------------------------------
# Lambda: the function's ignored properties, and EventInvokeConfig
# ---------------------------------------------------------------------------------------------


def _record_function_properties(function: Any, props: Mapping[str, Any]) -> None:
    # The emulator's delivery reads these; moto's function model drops them.
    function.dead_letter_config = dict(props.get("DeadLetterConfig") or {})
    function.tracing_config = dict(props.get("TracingConfig") or {"Mode": "PassThrough"})
    function.logging_config = dict(props.get("LoggingConfig") or {})
    function.kms_key_arn = props.get("KmsKeyArn")
    if "Tags" in props:
        function.tags = {t["Key"]: t["Value"] for t in props.get("Tags") or []}


class Function(_Amended, LambdaFunction, CloudFormationModel):
    """``AWS::Lambda::Function``: moto's, keeping DeadLetterConfig, TracingConfig, Tags."""

    AWS_TYPE = "AWS::Lambda::Function"
    MOTO = LambdaFunction

    @classmethod
    def _amend(cls, resource: Any, props: Mapping[str, Any], account_id: str, region: str) -> None:
        _record_function_properties(resource, props)


def _invoke_config(props: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: props[key]
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        if key in props
    }


class EventInvokeConfig(ResourceType, CloudFormationModel):
    """``AWS::Lambda::EventInvokeConfig``: the function's async retries and destinations."""

    AWS_TYPE = "AWS::Lambda::EventInvokeConfig"

    def __init__(self, function_name: str, qualifier: str) -> None:
        self.function_name = function_name
        self.qualifier = qualifier

    @property
    def physical_resource_id(self) -> str:
        return f"{self.function_name}|{self.qualifier}"

    @classmethod
    def _create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> EventInvokeConfig:
        backend = lambda_backend(account_id, region_name)
        function = backend.get_function(props["FunctionName"])
        # moto appends on every put and reads the first: replace instead.
        function.event_invoke_config = []
        backend.put_function_event_invoke_config(function.function_name, _invoke_config(props))
        return cls(function.function_name, str(props.get("Qualifier", "$LATEST")))

    @classmethod
    def _remove(
        cls, physical_id: str, props: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        from moto.awslambda.exceptions import UnknownFunctionException

        name = str(props.get("FunctionName", physical_id.split("|", maxsplit=1)[0]))
        with contextlib.suppress(UnknownFunctionException):  # the function may already be gone
            lambda_backend(account_id, region_name).get_function(name).event_invoke_config = []


class EventSourceMapping(_Typed, MotoEventSourceMapping, CloudFormationModel):
    """``AWS::Lambda::EventSourceMapping`` for SQS: moto's record of the mapping, polled by the
    emulator's own poller (``generator.emulator.poller``).

    moto would invoke the function itself, synchronously inside ``SendMessage`` and through
    Docker, counting a receive each time; the mapping is detached from that path so the queue
    is read only by the poller, with its batch size, window, visibility timeout and redrive.
    """

    AWS_TYPE = "AWS::Lambda::EventSourceMapping"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        backend = lambda_backend(account_id, region_name)
        mapping = backend.create_event_source_mapping(_props(cloudformation_json))
        return _polled(mapping, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        props = _props(cloudformation_json)
        backend = lambda_backend(account_id, region_name)
        mapping = backend.update_event_source_mapping(original_resource.uuid, props)
        if mapping is None:  # gone behind CloudFormation's back: create it again
            mapping = backend.create_event_source_mapping(props)
        mapping.function_response_types = props.get("FunctionResponseTypes")
        mapping.scaling_config = props.get("ScalingConfig")
        return _polled(mapping, account_id, region_name)


def _polled(mapping: Any, account_id: str, region_name: str) -> Any:
    from generator.emulator.poller import register_mapping

    for queue in sqs_backends[account_id][region_name].queues.values():
        if queue.queue_arn == mapping.event_source_arn:
            queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
    register_mapping(mapping.uuid, account_id, region_name)
    return mapping


# ---------------------------------------------------------------------------------------------
# SNS and SQS policies, SNS subscriptions
# ---------------------------------------------------------------------------------------------


class _AttachedPolicy(ResourceType):
    """A policy resource: sets the ``Policy`` attribute of each resource listed in ``TARGETS``.

    Ref is the targets, joined by commas. A delete leaves each target its last policy.
    """

    TARGETS: ClassVar[str]  # the property listing what the policy is attached to

    def __init__(self, targets: list[str]) -> None:
        self.targets = targets

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.targets)

    @classmethod
    def _create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> Self:
        targets = [str(t) for t in props.get(cls.TARGETS) or []]
        for target in targets:
            cls._attach(target, json.dumps(props["PolicyDocument"]), account_id, region_name)
        return cls(targets)

    @classmethod
    def _attach(cls, target: str, document: str, account_id: str, region_name: str) -> None:
        raise NotImplementedError


class TopicPolicy(_AttachedPolicy, CloudFormationModel):
    """``AWS::SNS::TopicPolicy`` (a delete changes nothing the emulator enforces)."""

    AWS_TYPE = "AWS::SNS::TopicPolicy"
    TARGETS = "Topics"

    @classmethod
    def _attach(cls, target: str, document: str, account_id: str, region_name: str) -> None:
        sns_backends[account_id][region_name].set_topic_attribute(target, "policy", document)


class QueuePolicy(_AttachedPolicy, CloudFormationModel):
    """``AWS::SQS::QueuePolicy`` (a delete changes nothing: moto does not enforce them)."""

    AWS_TYPE = "AWS::SQS::QueuePolicy"
    TARGETS = "Queues"

    @classmethod
    def _attach(cls, target: str, document: str, account_id: str, region_name: str) -> None:
        queue_name = target.rstrip("/").rsplit("/", 1)[-1]  # the Ref of a queue is its URL
        sqs_backends[account_id][region_name].set_queue_attributes(queue_name, {"Policy": document})


class Subscription(ResourceType, CloudFormationModel):
    """``AWS::SNS::Subscription``: Ref is the subscription ARN."""

    AWS_TYPE = "AWS::SNS::Subscription"
    REF = "arn"

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @classmethod
    def _create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> Subscription:
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(
            str(props["TopicArn"]), str(props["Endpoint"]), str(props["Protocol"])
        )
        return cls(str(subscription.arn))

    def _deleted_on_update(self, new_resource_name: str) -> bool:
        return True

    @classmethod
    def _remove(
        cls, physical_id: str, props: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        sns_backends[account_id][region_name].unsubscribe(physical_id)


class OidcProvider(ResourceType, CloudFormationModel):
    """``AWS::IAM::OIDCProvider`` (the account-access stack's GitHub provider): Ref is its ARN."""

    AWS_TYPE = "AWS::IAM::OIDCProvider"
    REF = "arn"
    GET_ATT: ClassVar[Mapping[str, str]] = {"Arn": "arn"}

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @classmethod
    def _create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> OidcProvider:
        backend = iam_backends[account_id][get_partition(region_name)]
        provider = backend.create_open_id_connect_provider(
            str(props["Url"]),
            [str(t) for t in props.get("ThumbprintList") or []],
            [str(c) for c in props.get("ClientIdList") or []],
            _tag_list(props),
        )
        return cls(str(provider.arn))

    def _deleted_on_update(self, new_resource_name: str) -> bool:
        return True

    @classmethod
    def _remove(
        cls, physical_id: str, props: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        iam_backends[account_id][get_partition(region_name)].delete_open_id_connect_provider(
            physical_id
        )
