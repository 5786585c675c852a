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
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.kms.models import Key, kms_backends
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


class Secret(CloudFormationModel):
    """``AWS::SecretsManager::Secret``: Ref is the ARN, like CloudFormation's."""

    def __init__(self, arn: str, name: str, properties: dict[str, Any]) -> None:
        self.arn = arn
        self.name = name
        self.properties = properties

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::SecretsManager::Secret")

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Id":
            return self.arn
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
    ) -> Secret:
        props = _props(cloudformation_json)
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
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(resource_name, None, True)

    def delete(self, account_id: str, region_name: str) -> None:
        """Delete without a recovery window, so a recreated stack can reuse the name."""
        secretsmanager_backends[account_id][region_name].delete_secret(self.arn, None, True)


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


class Alarm(CloudFormationModel):
    """``AWS::CloudWatch::Alarm``: Ref is the name, ``GetAtt Arn`` the ARN."""

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::CloudWatch::Alarm")

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
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
    ) -> Alarm:
        props = _props(cloudformation_json)
        return cls(resource_name, _put_alarm(resource_name, props, account_id, region_name))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Alarm,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Alarm:
        if new_resource_name != original_resource.name:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    def delete(self, account_id: str, region_name: str) -> None:
        """Remove the alarm."""
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


# ---------------------------------------------------------------------------------------------
# KMS key: moto passes CloudFormation's Key/Value tags to a tagger that wants TagKey/TagValue
# ---------------------------------------------------------------------------------------------


def _key_properties(cloudformation_json: Mapping[str, Any]) -> dict[str, Any]:
    props = _props(cloudformation_json)
    props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tag_list(props)]
    if isinstance(props.get("KeyPolicy"), dict):
        props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
    return props


class KmsKey(Key, CloudFormationModel):
    """``AWS::KMS::Key``: moto's, with tags that work and an in-place update."""

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::KMS::Key")

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Key:
        fixed = {**cloudformation_json, "Properties": _key_properties(cloudformation_json)}
        return Key.create_from_cloudformation_json(
            resource_name, fixed, account_id, region_name, **kwargs
        )

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
        return original_resource  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# S3 bucket policy (recorded, not applied) and the bucket's ignored properties
# ---------------------------------------------------------------------------------------------


class BucketPolicy(CloudFormationModel):
    """``AWS::S3::BucketPolicy``, recorded but NOT applied.

    moto evaluates bucket policies on every request but cannot evaluate conditions such as
    ``aws:SecureTransport``: a conditional Deny makes it refuse every GetObject and PutObject,
    even from the bucket's own function. The template keeps its policy; the emulator keeps a
    copy (``RECORDED_BUCKET_POLICIES``) so tests can inspect what would be applied.
    """

    def __init__(self, account_id: str, bucket: str, policy: dict[str, Any]) -> None:
        self.account_id = account_id
        self.bucket = bucket
        self.policy = policy

    @property
    def physical_resource_id(self) -> str:
        return f"{self.bucket}-policy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::S3::BucketPolicy")

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

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
    ) -> BucketPolicy:
        props = _props(cloudformation_json)
        bucket = str(props["Bucket"])
        s3_backends[account_id][get_partition(region_name)].get_bucket(bucket)  # must exist
        policy = dict(props.get("PolicyDocument") or {})
        RECORDED_BUCKET_POLICIES[(account_id, bucket)] = policy
        return cls(account_id, bucket, policy)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: BucketPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> BucketPolicy:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        bucket = str(_props(cloudformation_json).get("Bucket", ""))
        RECORDED_BUCKET_POLICIES.pop((account_id, bucket), None)

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


class Bucket(FakeBucket, CloudFormationModel):
    """``AWS::S3::Bucket``: moto's, plus versioning, notifications and public access block."""

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::S3::Bucket")

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FakeBucket:
        bucket = FakeBucket.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        apply_bucket_properties(bucket.name, _props(cloudformation_json), account_id, region_name)
        return bucket

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> FakeBucket:
        bucket = FakeBucket.update_from_cloudformation_json(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        apply_bucket_properties(bucket.name, _props(cloudformation_json), account_id, region_name)
        return bucket


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


class Function(LambdaFunction, CloudFormationModel):
    """``AWS::Lambda::Function``: moto's, keeping DeadLetterConfig, TracingConfig, Tags."""

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::Lambda::Function")

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaFunction:
        function = LambdaFunction.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        _record_function_properties(function, _props(cloudformation_json))
        return function

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaFunction:
        function = LambdaFunction.update_from_cloudformation_json(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        _record_function_properties(function, _props(cloudformation_json))
        return function


def _invoke_config(props: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: props[key]
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        if key in props
    }


class EventInvokeConfig(CloudFormationModel):
    """``AWS::Lambda::EventInvokeConfig``: the function's async retries and destinations."""

    def __init__(self, function_name: str, qualifier: str) -> None:
        self.function_name = function_name
        self.qualifier = qualifier

    @property
    def physical_resource_id(self) -> str:
        return f"{self.function_name}|{self.qualifier}"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::Lambda::EventInvokeConfig")

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

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
    ) -> EventInvokeConfig:
        props = _props(cloudformation_json)
        backend = lambda_backend(account_id, region_name)
        function = backend.get_function(props["FunctionName"])
        # moto appends on every put and reads the first: replace instead.
        function.event_invoke_config = []
        backend.put_function_event_invoke_config(function.function_name, _invoke_config(props))
        return cls(function.function_name, str(props.get("Qualifier", "$LATEST")))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EventInvokeConfig,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EventInvokeConfig:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        name = _props(cloudformation_json).get(
            "FunctionName", resource_name.split("|", maxsplit=1)[0]
        )
        _drop_invoke_config(str(name), account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Remove the configuration (the function may already be gone)."""
        _drop_invoke_config(self.function_name, account_id, region_name)


def _drop_invoke_config(function_name: str, account_id: str, region_name: str) -> None:
    from moto.awslambda.exceptions import UnknownFunctionException

    with contextlib.suppress(UnknownFunctionException):
        lambda_backend(account_id, region_name).get_function(function_name).event_invoke_config = []


# ---------------------------------------------------------------------------------------------
# SNS and SQS policies, SNS subscriptions
# ---------------------------------------------------------------------------------------------


class TopicPolicy(CloudFormationModel):
    """``AWS::SNS::TopicPolicy``: sets each topic's ``Policy`` attribute."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = topics

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.topics)

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::SNS::TopicPolicy")

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

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
    ) -> TopicPolicy:
        props = _props(cloudformation_json)
        topics = [str(t) for t in props.get("Topics") or []]
        backend = sns_backends[account_id][region_name]
        for arn in topics:
            backend.set_topic_attribute(arn, "policy", json.dumps(props["PolicyDocument"]))
        return cls(topics)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: TopicPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> TopicPolicy:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """The topic keeps its last policy; removing it changes nothing the emulator enforces."""

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing to undo (see ``delete_from_cloudformation_json``)."""


class QueuePolicy(CloudFormationModel):
    """``AWS::SQS::QueuePolicy``: sets each queue's ``Policy`` attribute."""

    def __init__(self, queues: list[str]) -> None:
        self.queues = queues

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.queues)

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::SQS::QueuePolicy")

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

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
    ) -> QueuePolicy:
        props = _props(cloudformation_json)
        queues = [str(q) for q in props.get("Queues") or []]
        backend = sqs_backends[account_id][region_name]
        for url in queues:
            backend.set_queue_attributes(
                url.rstrip("/").rsplit("/", 1)[-1], {"Policy": json.dumps(props["PolicyDocument"])}
            )
        return cls(queues)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: QueuePolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> QueuePolicy:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """The queue keeps its last policy; moto does not enforce queue policies."""

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing to undo (see ``delete_from_cloudformation_json``)."""


class Subscription(CloudFormationModel):
    """``AWS::SNS::Subscription``: Ref is the subscription ARN."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return _cfn_type("AWS::SNS::Subscription")

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

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
    ) -> Subscription:
        props = _props(cloudformation_json)
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(
            str(props["TopicArn"]), str(props["Endpoint"]), str(props["Protocol"])
        )
        return cls(str(subscription.arn))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Subscription,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Subscription:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        sns_backends[account_id][region_name].unsubscribe(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Unsubscribe."""
        sns_backends[account_id][region_name].unsubscribe(self.arn)


# Every type this module adds or extends, for the extension's checks and the README.
MODELS: tuple[type[CloudFormationModel], ...] = (
    Secret, Alarm, KmsKey, BucketPolicy, Bucket, Function, EventInvokeConfig, TopicPolicy,
    QueuePolicy, Subscription,
)  # fmt: skip
