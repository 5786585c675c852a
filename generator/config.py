"""The typed environment model and its loader.

One YAML file per environment under ``environments/`` holds only what differs from the safe
defaults below. Loading validates every file and reports every problem at once, each naming the
file, the field, the value received and what was expected.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from generator import contracts, naming
from generator.regions import PARTITIONS

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

ENV_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,15}$")
# Every region of every partition, from the list botocore ships (generator/regions.py).
REGIONS = tuple(sorted(region for regions in PARTITIONS.values() for region in regions))
RESERVED_TAG_KEYS = frozenset(naming.BASE_TAG_KEYS)

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_ACCOUNT = r"^[0-9]{12}$"
_PREFIX = r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$"
_LOGICAL_ID = r"^[A-Za-z0-9]+$"
_SNS_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$"

# The deploy workflow's wave slots (contracts.MAX_WAVES): a file naming a later wave is refused.
MAX_WAVES = contracts.MAX_WAVES


class FieldProblem(ValueError):
    """A whole-model check's failure that names the field it is about."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        super().__init__(expected)
        self.field = field
        self.value = value
        self.expected = expected


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FunctionSettings(_Model):
    """The Lambda function's size, limits and async-invocation behaviour."""

    memory_mb: Annotated[
        int,
        Field(ge=128, le=10240, description="Memory in MB (CPU scales with it)."),
    ] = 256
    timeout_seconds: Annotated[
        int,
        Field(
            ge=1,
            le=900,
            description="Lambda timeout; size it (with memory) for the largest file expected.",
        ),
    ] = 60
    reserved_concurrency: Annotated[
        int | None,
        Field(ge=1, le=1000, description="Reserved concurrent executions; null leaves it unset."),
    ] = None
    log_retention_days: Annotated[
        int, Field(description=f"One of CloudWatch Logs' periods: {LOG_RETENTION_DAYS}.")
    ] = 7
    log_level: Annotated[
        str,
        Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$", description="The function's log level."),
    ] = "INFO"
    async_retries: Annotated[
        int,
        Field(ge=0, le=2, description="Async retries before the event is dead-lettered."),
    ] = 2
    max_event_age_seconds: Annotated[
        int, Field(ge=60, le=21600, description="Oldest event Lambda still delivers.")
    ] = 21600
    secret_cache_seconds: Annotated[
        int,
        Field(ge=0, le=3600, description="How long a warm function reuses the secret."),
    ] = 300
    read_part_mib: Annotated[
        int,
        Field(
            ge=1,
            le=256,
            description="Objects larger than this (MiB) are read as concurrent ranged GETs of "
            "this size; smaller ones with one GET.",
        ),
    ] = 8
    read_concurrency: Annotated[
        int | None,
        Field(
            ge=1,
            le=16,
            description="Ranged GETs in flight per object; null sizes it so the parts in "
            "flight take at most a quarter of memory_mb.",
        ),
    ] = None
    stop_margin_seconds: Annotated[
        int | None,
        Field(
            ge=1,
            le=899,
            description="A read stops (a retry-safe error) when less than this is left before "
            "the timeout; null is a tenth of timeout_seconds, at least 1.",
        ),
    ] = None

    @property
    def effective_read_concurrency(self) -> int:
        """Parts in flight: as configured, or as many as fit in a quarter of the memory."""
        if self.read_concurrency is not None:
            return self.read_concurrency
        return max(1, min(16, self.memory_mb // 4 // self.read_part_mib))

    @property
    def effective_stop_margin_seconds(self) -> int:
        """The stop margin: as configured, or a tenth of the timeout (at least 1 s)."""
        if self.stop_margin_seconds is not None:
            return self.stop_margin_seconds
        return max(1, self.timeout_seconds // 10)

    @model_validator(mode="after")
    def _reads_fit(self) -> FunctionSettings:
        in_flight = self.read_part_mib * self.effective_read_concurrency
        if in_flight * 2 > self.memory_mb:
            raise ValueError(
                f"read_part_mib {self.read_part_mib} x read_concurrency "
                f"{self.effective_read_concurrency} = {in_flight} MiB in flight; expected at "
                f"most half of memory_mb {self.memory_mb}"
            )
        if self.effective_stop_margin_seconds >= self.timeout_seconds:
            raise ValueError(
                f"stop_margin_seconds is {self.effective_stop_margin_seconds}; expected less "
                f"than timeout_seconds {self.timeout_seconds}"
            )
        return self

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"expected one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value


class SecretSettings(_Model):
    """The signing secret's rotation."""

    rotation_days: Annotated[
        int,
        Field(
            ge=0,
            le=1000,
            description="Rotate the signing key every this many days through the stack's "
            "rotation function; 0 turns rotation off. Results name the key version that signed "
            "them, so older results keep verifying after a rotation.",
        ),
    ] = 30


class StorageSettings(_Model):
    """The data bucket's prefixes and lifecycle."""

    upload_prefix: Annotated[
        str, Field(pattern=_PREFIX, description="Uploads under it trigger the function.")
    ] = naming.UPLOAD_PREFIX
    results_prefix: Annotated[
        str,
        Field(
            pattern=_PREFIX,
            description="Where results go; must lie outside the upload prefix.",
        ),
    ] = naming.RESULTS_PREFIX
    noncurrent_version_expiration_days: Annotated[
        int, Field(ge=1, le=3650, description="Old object versions expire after this.")
    ] = 30
    abort_incomplete_multipart_upload_days: Annotated[
        int, Field(ge=1, le=365, description="Incomplete multipart uploads are aborted after this.")
    ] = 7
    access_log_expiration_days: Annotated[
        int, Field(ge=1, le=3650, description="Server access logs expire after this.")
    ] = 90
    max_object_bytes: Annotated[
        int | None,
        Field(
            ge=1,
            description="Uploads larger than this get a signed too_large result without being "
            "read; null: no limit. Default 5 GiB, the largest single PUT.",
        ),
    ] = 5 * 1024**3


class AlarmSettings(_Model):
    """Alarm thresholds and who is told."""

    errors_threshold: Annotated[
        int, Field(ge=1, description="Errors alarm: Sum of errors >= this in one period.")
    ] = 1
    errors_period_seconds: Annotated[
        int, Field(ge=60, multiple_of=60, description="The Errors alarm's period.")
    ] = 300
    duration_threshold_ms: Annotated[
        int, Field(ge=1, le=900_000, description="Duration alarm: Average duration >= this.")
    ] = 30000
    duration_period_seconds: Annotated[
        int, Field(ge=60, multiple_of=60, description="The Duration alarm's period.")
    ] = 300
    duration_evaluation_periods: Annotated[
        int, Field(ge=1, le=100, description="Periods the Duration alarm evaluates.")
    ] = 2
    error_rate_percent: Annotated[
        int,
        Field(
            ge=1,
            le=100,
            description="Error rate (% of invocations in 5 minutes) that rolls "
            "back a deploy during its monitoring window.",
        ),
    ] = 20
    error_rate_min_errors: Annotated[
        int,
        Field(
            ge=1,
            description="Errors needed in those 5 minutes before the rate counts, so "
            "one bad upload cannot roll back a deploy.",
        ),
    ] = 3
    email: Annotated[
        str | None, Field(pattern=_EMAIL, description="E-mail subscribed to the alarm topic.")
    ] = None


# SQS's limits, and Lambda's for an SQS event source mapping.
MAX_VISIBILITY_TIMEOUT_SECONDS = 43200
VISIBILITY_TIMEOUT_FACTOR = 6  # AWS's advice: at least 6x the function timeout


class IngestSettings(_Model):
    """How uploads reach the function: directly (S3 invokes it) or through an SQS queue."""

    mode: Annotated[
        Literal["direct", "queue"],
        Field(
            description="direct: S3 invokes the function asynchronously. queue: S3 sends to an "
            "SQS queue that the function polls in batches (a visible, replayable backlog)."
        ),
    ] = "direct"
    batch_size: Annotated[
        int, Field(ge=1, le=10000, description="Messages per invocation (queue mode).")
    ] = 10
    batching_window_seconds: Annotated[
        int,
        Field(ge=0, le=300, description="How long Lambda gathers a batch (queue mode)."),
    ] = 0
    maximum_concurrency: Annotated[
        int,
        Field(
            ge=2,
            le=1000,
            description="Most concurrent invocations the queue drives (queue mode): a cap on "
            "how hard a burst hits downstream systems.",
        ),
    ] = 5
    max_receive_count: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Receives of one message before it goes to the dead-letter queue.",
        ),
    ] = 3
    visibility_timeout_seconds: Annotated[
        int | None,
        Field(
            ge=0,
            le=MAX_VISIBILITY_TIMEOUT_SECONDS,
            description=f"The queue's visibility timeout; at least {VISIBILITY_TIMEOUT_FACTOR}x "
            "function.timeout_seconds. null derives exactly that.",
        ),
    ] = None
    oldest_message_alarm_seconds: Annotated[
        int,
        Field(
            ge=60,
            le=1209600,
            description="Alarm when the oldest queued upload has waited this long (queue mode).",
        ),
    ] = 900

    @model_validator(mode="after")
    def _window_for_large_batches(self) -> IngestSettings:
        if self.batch_size > 10 and self.batching_window_seconds < 1:
            raise FieldProblem(
                "ingest.batching_window_seconds",
                self.batching_window_seconds,
                "at least 1 when ingest.batch_size is above 10 (Lambda's rule for SQS)",
            )
        return self


class DeploySettings(_Model):
    """How the deploy treats this environment's stack."""

    allow_replace: Annotated[
        tuple[Annotated[str, Field(pattern=_LOGICAL_ID)], ...],
        Field(
            description="Logical IDs of stateful resources that a reviewed change may replace "
            "or remove. Remove the entry once the change is deployed."
        ),
    ] = ()
    notification_arns: Annotated[
        tuple[Annotated[str, Field(pattern=_SNS_ARN)], ...],
        Field(description="SNS topics that receive the stack's events."),
    ] = ()
    rollback_monitoring_minutes: Annotated[
        int,
        Field(
            ge=0,
            le=180,
            description="How long CloudFormation watches the rollback-trigger alarms after "
            "an update.",
        ),
    ] = 5
    timeout_minutes: Annotated[
        int,
        Field(
            ge=1,
            le=720,
            description="One deadline for a whole deploy (waiting out another operation, "
            "bootstrap, change sets, execution); exit 5 when it runs out.",
        ),
    ] = 60
    recreate_failed_stack: Annotated[
        bool,
        Field(
            description="Delete and recreate a stack whose first create failed "
            "(only honoured when the environment retains no data)."
        ),
    ] = False
    drift: Annotated[
        Literal["refuse", "revert"],
        Field(
            description="What a deploy does when the live stack drifted from the last deployed "
            "template: refuse (exit 3, naming the drifted properties) or revert (a drift-aware "
            "REVERT_DRIFT change set puts git's values back)."
        ),
    ] = "refuse"
    wave: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_WAVES,
            description="Where the environment sits in the rollout: environments of one wave "
            "plan and deploy in parallel, waves one after another, and a failed or blocked "
            f"wave stops the later ones. 1 to {MAX_WAVES} (the deploy workflow's wave slots).",
        ),
    ] = 1
    previews: Annotated[
        bool,
        Field(
            description="Pull requests labelled `preview` deploy a short-lived copy of this "
            "environment (stack TapStack<env>-pr<N>), and the CI access template gives it a "
            "preview role limited to those stacks (docs/previews.md).",
        ),
    ] = False
    approval: Annotated[
        bool,
        Field(
            description="A reviewer approves each deploy: the GitHub environment of this name "
            "must have required reviewers (Settings > Environments). The deploy workflow asks "
            "for the approval after the plan exists, so the reviewer approves that plan.",
        ),
    ] = False


class Environment(_Model):
    """One deployment target: an AWS account and region plus what differs from the defaults."""

    name: Annotated[str, Field(pattern=ENV_NAME_PATTERN.pattern, description="From the file name.")]
    account_id: Annotated[str, Field(pattern=_ACCOUNT, description="12-digit AWS account id.")]
    region: Annotated[
        str,
        Field(
            description="AWS region, e.g. us-east-1: one that botocore lists.",
            json_schema_extra={"enum": list(REGIONS)},
        ),
    ]
    retain_data: Annotated[
        bool,
        Field(
            description="Retain buckets, key, secret, queue and logs when removed from the stack."
        ),
    ] = True
    termination_protection: Annotated[
        bool, Field(description="The stack's termination protection.")
    ] = True
    emulator: Annotated[
        bool,
        Field(
            description="Deploy to the embedded AWS emulator (moto) on loopback instead of an AWS "
            "account; the account must be the emulator's, 123456789012."
        ),
    ] = False
    function: FunctionSettings = FunctionSettings()
    storage: StorageSettings = StorageSettings()
    secret: SecretSettings = SecretSettings()
    alarms: AlarmSettings = AlarmSettings()
    deploy: DeploySettings = DeploySettings()
    ingest: IngestSettings = IngestSettings()
    tags: Annotated[
        dict[
            Annotated[str, Field(min_length=1, max_length=128)],
            Annotated[str, Field(max_length=256)],
        ],
        Field(description="Extra tags for every resource; Project, Environment, Owner are fixed."),
    ] = {}

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in REGIONS:
            close = difflib.get_close_matches(value, REGIONS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"an AWS region{hint}, one of: {', '.join(REGIONS)}")
        return value

    @field_validator("tags")
    @classmethod
    def _no_reserved_tags(cls, value: dict[str, str]) -> dict[str, str]:
        clash = sorted(RESERVED_TAG_KEYS.intersection(value))
        if clash:
            raise ValueError(f"tag keys {clash} are set by the generator; expected other keys")
        return dict(sorted(value.items()))

    @model_validator(mode="after")
    def _prefixes_apart(self) -> Environment:
        up, out = self.storage.upload_prefix, self.storage.results_prefix
        if up.startswith(out) or out.startswith(up):
            raise ValueError(
                f"storage.results_prefix {out!r} to lie outside storage.upload_prefix {up!r} "
                "(else the function would trigger itself)"
            )
        return self

    @model_validator(mode="after")
    def _visibility_covers_retries(self) -> Environment:
        given = self.ingest.visibility_timeout_seconds
        least = VISIBILITY_TIMEOUT_FACTOR * self.function.timeout_seconds
        if given is not None and given < least:
            raise FieldProblem(
                "ingest.visibility_timeout_seconds",
                given,
                f"at least {least} ({VISIBILITY_TIMEOUT_FACTOR}x function.timeout_seconds "
                f"{self.function.timeout_seconds}), or null to derive it",
            )
        return self


def visibility_timeout_seconds(env: Environment) -> int:
    """The ingest queue's visibility timeout: as configured, else 6x the function timeout."""
    given = env.ingest.visibility_timeout_seconds
    return given if given is not None else VISIBILITY_TIMEOUT_FACTOR * env.function.timeout_seconds


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one environment file."""

    file: str
    field: str
    value: str
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: got {self.value}; expected {self.expected}"


class ConfigError(Exception):
    """Every problem found while loading environment files."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fields_at(path: Iterable[str | int]) -> list[str] | None:
    """The setting names of the section at ``path`` (``()``: the top level); None when ``path``
    is not a section of the model."""
    model: type[BaseModel] = Environment
    for part in path:
        info = model.model_fields.get(str(part))
        section = info.annotation if info else None
        if not (isinstance(section, type) and issubclass(section, BaseModel)):
            return None
        model = section
    return [name for name in model.model_fields if name != "name"]


def _every_setting(prefix: tuple[str, ...] = ()) -> list[str]:
    """Every setting's dotted path, sections included (``function``, ``function.memory_mb``)."""
    found = []
    for name in _fields_at(prefix) or []:
        path = (*prefix, name)
        found.append(".".join(path))
        if _fields_at(path) is not None:
            found += _every_setting(path)
    return found


def _unknown_setting(loc: tuple[str | int, ...]) -> str:
    """What an unknown setting was expected to be: the nearest real one where one is close (a
    misspelling, or a setting put in the wrong section), else the section's settings."""
    *parent, given = (str(part) for part in loc)
    here = _fields_at(parent) or []
    close = difflib.get_close_matches(given, here, n=1)
    if close:
        return f"a known setting; did you mean {'.'.join([*parent, close[0]])}?"
    elsewhere = {path.rsplit(".", 1)[-1]: path for path in _every_setting()}
    close = difflib.get_close_matches(given, list(elsewhere), n=1)
    if close:
        return f"a known setting; did you mean {elsewhere[close[0]]}?"
    section = f"of {'.'.join(parent)} " if parent else ""
    return f"a known setting {section}(misspelled?), one of: {', '.join(here)}"


def _problems_from(file: str, error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = ".".join(str(part) for part in item["loc"])
        expected = item["msg"].removeprefix("Value error, ")
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):  # a whole-model check that names its field
            problems.append(Problem(file, cause.field, _show(cause.value), cause.expected))
            continue
        if not loc:  # a whole-model check: the message names its fields
            problems.append(Problem(file, "storage", "overlapping prefixes", expected))
            continue
        if item["type"] == "extra_forbidden":
            expected = _unknown_setting(item["loc"])
        elif item["type"] == "missing":
            problems.append(Problem(file, loc, "nothing", "a value (required)"))
            continue
        problems.append(Problem(file, loc, _show(item.get("input")), expected))
    return problems


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that records every mapping key given twice, at any depth.

    PyYAML keeps the last of two equal keys without a word, so a second ``function:`` block
    would silently drop the first one's settings. Keys are compared as constructed values (``1``
    and ``0x1`` are one key) on the node tree, before merge keys (``<<``) are expanded: a key
    that overrides a merged one is not a duplicate.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int, int]] = []  # (dotted path, line, first line)
        self._paths: dict[int, str] = {}  # id(node) -> its dotted path in the document

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        parent = self._paths.get(id(node), "")
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            path = f"{parent}.{key}" if parent else str(key)
            self._paths[id(value_node)] = path
            line = key_node.start_mark.line + 1
            try:
                if key in first_line:
                    self.duplicates.append((path, line, first_line[key]))
                else:
                    first_line[key] = line
            except TypeError:  # an unhashable key: PyYAML's own error below names it
                continue
        return super().construct_mapping(node, deep=deep)

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> list[Any]:
        parent = self._paths.get(id(node), "")
        for index, item in enumerate(node.value):
            self._paths[id(item)] = f"{parent}[{index}]"
        return super().construct_sequence(node, deep=deep)


def _parse_yaml(text: str, source: str) -> tuple[object, list[Problem]]:
    """One environment file's data, and a problem for every key given twice (naming both
    lines); ConfigError when the text is not YAML."""
    loader = _StrictLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        found = f"invalid YAML at {where} ({getattr(exc, 'problem', exc)})"
        raise ConfigError([Problem(source, "", found, "a YAML mapping")]) from None
    finally:
        loader.dispose()
    duplicates = [
        Problem(
            source,
            path,
            f"a duplicate key at line {line} (first at line {first})",
            "each setting once",
        )
        for path, line, first in sorted(loader.duplicates, key=lambda d: d[1])
    ]
    return data, duplicates


def parse_environment(name: str, data: object, source: str) -> Environment:
    """Validate one environment's parsed YAML; raise ConfigError naming every problem."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError([Problem(source, "", type(data).__name__, "a mapping of settings")])
    if "name" in data:
        raise ConfigError(
            [Problem(source, "name", _show(data["name"]), "no name field: the file name is it")]
        )
    try:
        return Environment.model_validate({"name": name, **data})
    except ValidationError as exc:
        raise ConfigError(_problems_from(source, exc)) from None


def load_environment(path: Path, display: str | None = None) -> Environment:
    """Load and validate one environment file."""
    source = display or str(path)
    name = path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [Problem(source, "", exc.strerror or str(exc), "a readable file")]
        ) from None
    except UnicodeDecodeError as exc:
        found = f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"
        raise ConfigError([Problem(source, "", found, "UTF-8 text")]) from None
    data, problems = _parse_yaml(text, source)
    if not ENV_NAME_PATTERN.match(name):
        problems.append(
            Problem(
                source,
                "file name",
                repr(name),
                "lowercase letters and digits, 1-16, "
                "starting with a letter (it names the stack and the buckets)",
            )
        )
    try:
        env = parse_environment(name, data, source)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return env


def environment_files(directory: Path) -> list[Path]:
    """The environment files in a directory, sorted by name."""
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


def load_environments(
    directory: Path, names: Iterable[str] | None = None, root: Path | None = None
) -> dict[str, Environment]:
    """Load every environment file (or only ``names``); report every problem in every file."""
    files = environment_files(directory)
    available = {p.stem: p for p in files}
    problems: list[Problem] = []
    wanted = list(names) if names is not None else list(available)
    for name in wanted:
        if name not in available:
            problems.append(
                Problem(
                    str(directory),
                    "environment",
                    repr(name),
                    f"one of {sorted(available)} (a file {name}.yaml)",
                )
            )
    envs: dict[str, Environment] = {}
    for name in sorted(set(wanted) & set(available)):
        path = available[name]
        display = str(path.relative_to(root)) if root else str(path)
        try:
            envs[name] = load_environment(path, display)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return envs


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an environment file, for editors (the name comes from the file)."""
    schema = Environment.model_json_schema()
    schema["properties"].pop("name", None)
    schema["required"] = [r for r in schema.get("required", []) if r != "name"]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ServerlessApp environment"
    return schema
