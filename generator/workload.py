"""Exercise a deployed stack's workload, on the emulator or a real account alike.

``upload`` puts a file under the upload prefix, waits for the function's result under the results
prefix, and verifies the result's signature with the secret version the result names. ``rotate``
rotates the signing key now (Secrets Manager's ``RotateSecret``: the stack's own rotation function
runs its four steps) and verifies every result by the key version each one names.

The clients come from the runtime's factory, which the command layer picks (AWS or the embedded
emulator), as for a deploy.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from generator import naming
from generator.clock import Clock, Deadline, SystemClock, poll
from generator.config import Environment, load_environments
from generator.deploy.aws import Clients
from generator.deploy.runtime import Connection, Runtime
from generator.errors import ExitCode, GeneratorError
from generator.workspace import Workspace

SIGNING_MODULE = "handler/fileproc/signing.py"
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"


@dataclass(frozen=True)
class UploadRequest:
    """Which environment, reached how, which file, and how long to wait for its result."""

    workspace: Workspace
    env: str
    file: Path | None = None  # None (``demo``): a sample file written under the state folder
    profile: str | None = None
    endpoint_url: str | None = None
    timeout_seconds: float = 60.0
    preview: str | None = None  # a preview of ``env`` (``upload --preview NAME``)

    @property
    def connection(self) -> Connection:
        """How to reach the environment's account."""
        return Connection(self.workspace, self.profile, self.endpoint_url)


@dataclass(frozen=True)
class RotateRequest:
    """Which environment's signing key to rotate, reached how, and how long to wait for it."""

    workspace: Workspace
    env: str
    profile: str | None = None
    endpoint_url: str | None = None
    timeout_seconds: float = 60.0

    @property
    def connection(self) -> Connection:
        """How to reach the environment's account."""
        return Connection(self.workspace, self.profile, self.endpoint_url)


@dataclass(frozen=True)
class Rotation:
    """What one rotation changed: the version that was current, and the one that is now."""

    secret: str
    previous_version: str
    current_version: str


@dataclass(frozen=True)
class Verification:
    """Every result under the results prefix, verified by the key version it names."""

    valid_by_version: dict[str, int]
    invalid: list[str]

    @property
    def valid(self) -> int:
        """How many results verified."""
        return sum(self.valid_by_version.values())


def load_environment(root: Path, name: str, preview_name: str | None = None) -> Environment:
    """An environment of the checkout at ``root`` (or a preview of it)."""
    if preview_name:  # the preview's bucket and function (docs/previews.md)
        from generator import preview

        return preview.load_preview(root, name, preview_name)
    return load_environments(root / naming.ENVIRONMENTS_DIR, [name], root)[name]


# ------------------------------------------------------------------------------ verification


def load_signing(root: Path) -> ModuleType:
    """The handler's stdlib-only signing module, loaded from the repository by path."""
    path = root / SIGNING_MODULE
    spec = importlib.util.spec_from_file_location("serverlessapp_signing", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise GeneratorError(f"{path} is missing; expected the handler's signing module")
    module = importlib.util.module_from_spec(spec)
    # Registered first: dataclasses look their module up in sys.modules while being defined.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def matches(result: Mapping[str, Any], key: str, version_id: str | None, etag: str) -> bool:
    """Whether a result document is the one for this upload (this key, this version)."""
    if result.get("key") != key:
        return False
    if version_id is not None:
        return bool(result.get("version_id") == version_id)
    return bool(str(result.get("etag", "")).strip('"') == etag.strip('"'))


def find_result(
    s3: Any, bucket: str, prefix: str, accept: Callable[[Mapping[str, Any]], bool]
) -> tuple[str, dict[str, Any]] | None:
    """The first result object under ``prefix`` that ``accept`` takes (every page read)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            try:
                document = json.loads(body)
            except ValueError:
                continue
            if isinstance(document, dict) and accept(document):
                return str(item["Key"]), document
    return None


def verify_by_version(signing: ModuleType, secrets: Any, env: Environment, result: Any) -> bool:
    """Whether ``result`` verifies with the secret version it names (GetSecretValue by id)."""
    password_of = signing.secret_password_of(secrets, naming.secret_name(env.name))
    return bool(signing.verify_with_versions(result, password_of))


def verify_all_results(
    signing: ModuleType, s3: Any, secrets: Any, env: Environment
) -> Verification:
    """Verify every result in the data bucket, each by the key version it names."""
    bucket = naming.data_bucket(env.name, env.account_id)
    password_of = signing.secret_password_of(secrets, naming.secret_name(env.name))
    cache: dict[str | None, str | None] = {}

    def cached(version: str | None) -> str | None:
        if version not in cache:
            cache[version] = password_of(version)
        return cache[version]

    valid: Counter[str] = Counter()
    invalid: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=env.storage.results_prefix):
        for item in page.get("Contents", []):
            key = str(item["Key"])
            try:
                result = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            except ValueError:
                invalid.append(key)
                continue
            if signing.verify_with_versions(result, cached):
                valid[signing.key_version(result) or "(v1: current key)"] += 1
            else:
                invalid.append(key)
    return Verification(dict(sorted(valid.items())), invalid)


# ------------------------------------------------------------------------------------ upload


def sample_file(folder: Path) -> Path:
    """A small text file to push through the pipeline."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"demo-{stamp}.txt"
    path.write_text(f"Hello from the ServerlessApp demo, {stamp}.\n", encoding="utf-8")
    return path


def upload_and_verify(
    env: Environment, root: Path, path: Path, clients: Clients, timeout_seconds: float
) -> int:
    """Upload one file, wait for its result, print it and whether its signature verifies."""
    s3, secrets = clients.s3, clients.client("secretsmanager")
    bucket = naming.data_bucket(env.name, env.account_id)
    key = env.storage.upload_prefix + path.name
    try:
        reply = s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    except OSError as exc:
        raise GeneratorError(
            f"cannot read {path}: {exc.strerror}; expected a readable file"
        ) from None
    version_id = reply.get("VersionId")
    etag = str(reply.get("ETag", ""))
    print(f"uploaded s3://{bucket}/{key} (version {version_id or 'none'}); waiting for the result")

    def accept(document: Mapping[str, Any]) -> bool:
        return matches(document, key, version_id, etag)

    def timed_out(now: float) -> GeneratorError:
        return GeneratorError(
            f"no result for s3://{bucket}/{key} under {env.storage.results_prefix} after "
            f"{timeout_seconds:.0f}s; expected the function to write one. See the log group "
            f"{naming.log_group(env.name)}",
            ExitCode.TIMED_OUT,
        )

    result_key, result = poll(
        Deadline(SystemClock(), timeout_seconds),
        0.5,
        lambda: find_result(s3, bucket, env.storage.results_prefix, accept),
        timed_out,
    )
    valid = verify_by_version(load_signing(root), secrets, env, result)
    print(f"result s3://{bucket}/{result_key}:")
    print(json.dumps(result, indent=2, sort_keys=True))
    verdict = "valid" if valid else "INVALID"
    secret_name = naming.secret_name(env.name)
    print(
        f"signature: {verdict} (HMAC-SHA256 keyed by the password in version "
        f"{result.get('key_version')} of {secret_name})"
    )
    return ExitCode.OK if valid else ExitCode.FAILED


_INIT_START = re.compile(r"INIT_START Runtime Version: python:(\S+)(?P<stand_in>.*own Python)?")


def function_python(clients: Clients, env: Environment) -> str | None:
    """Which Python the function last ran on, against the runtime it declares; None when its
    log group has no cold start yet. Read from the ``INIT_START`` line Lambda (and the
    emulator) writes at each cold start, e.g. ``Python 3.13.0 (declared python3.13)``."""
    function = naming.function_name(env.name)
    declared = clients.client("lambda").get_function_configuration(FunctionName=function)
    events = clients.client("logs").filter_log_events(
        logGroupName=naming.log_group(env.name), filterPattern='"INIT_START"'
    )["events"]
    found = [m for e in events if (m := _INIT_START.search(str(e.get("message", ""))))]
    if not found:
        return None
    latest = found[-1]
    own = " (the emulator's own Python)" if latest["stand_in"] else ""
    return f"Python {latest[1]}{own} (declared {declared.get('Runtime')})"


def upload(request: UploadRequest, runtime: Runtime) -> int:
    """``upload --env E FILE``: put the file, wait for its result, verify its signature."""
    root = request.workspace.root
    env = load_environment(root, request.env, request.preview)
    clients = runtime.clients(request.connection, env)
    path = request.file or sample_file(request.workspace.state_dir / "demo")
    return upload_and_verify(env, root, path, clients, request.timeout_seconds)


# ------------------------------------------------------------------------------------ rotate


def current_version(stages: Mapping[str, list[str]]) -> str | None:
    """The version holding AWSCURRENT in a DescribeSecret ``VersionIdsToStages``."""
    return next((v for v, labels in stages.items() if CURRENT in labels), None)


def rotate_now(
    secrets: Any,
    env: Environment,
    timeout_seconds: float = 60.0,
    clock: Clock | None = None,
) -> Rotation:
    """Start a rotation with the stack's rotation function and wait until AWSCURRENT moved."""
    secret = naming.secret_name(env.name)
    described = secrets.describe_secret(SecretId=secret)
    if not described.get("RotationEnabled") or not described.get("RotationLambdaARN"):
        raise GeneratorError(
            f"secret {secret} has no rotation function; expected secret.rotation_days above 0 in "
            f"environments/{env.name}.yaml and a deploy of it",
            ExitCode.FAILED,
        )
    before = current_version(described.get("VersionIdsToStages", {}))
    if before is None:
        raise GeneratorError(f"secret {secret} has no {CURRENT} version; expected one")
    # Set before the call: the wait covers the whole rotation, not just what follows it.
    deadline = Deadline(clock or SystemClock(), timeout_seconds)
    # Secrets Manager runs the steps asynchronously (moto: before the call returns). The
    # function is named again although the schedule names it: moto 5.2.5 forgets a configured
    # function when RotateSecret omits it, and then just relabels an empty version.
    token = str(
        secrets.rotate_secret(
            SecretId=secret,
            RotationLambdaARN=described["RotationLambdaARN"],
            RotateImmediately=True,
        )["VersionId"]
    )
    last_seen: list[str | None] = [before]

    def finished() -> Rotation | None:
        stages = secrets.describe_secret(SecretId=secret).get("VersionIdsToStages", {})
        last_seen[0] = current_version(stages)
        if last_seen[0] == token and PENDING not in stages.get(token, []):
            return Rotation(secret, before, token)
        return None

    def timed_out(now: float) -> GeneratorError:
        return GeneratorError(
            f"secret {secret}: version {token} did not become {CURRENT} within "
            f"{timeout_seconds:.0f}s ({CURRENT} is still {last_seen[0]}); expected the rotation "
            f"function to finish. See the log group {naming.rotation_log_group(env.name)}",
            ExitCode.TIMED_OUT,
        )

    return poll(deadline, 1.0, finished, timed_out)


def rotate(request: RotateRequest, runtime: Runtime) -> int:
    """``rotate --env E``: rotate the signing key now, then verify every result by its version."""
    root = request.workspace.root
    env = load_environment(root, request.env)
    clients = runtime.clients(request.connection, env)
    secrets = clients.client("secretsmanager")
    rotation = rotate_now(secrets, env, request.timeout_seconds)
    print(
        f"rotated {rotation.secret}: AWSCURRENT is now version {rotation.current_version} "
        f"(AWSPREVIOUS: {rotation.previous_version})"
    )
    checked = verify_all_results(load_signing(root), clients.s3, secrets, env)
    for version, count in checked.valid_by_version.items():
        print(f"  {count} result(s) signed with key version {version}: valid")
    for key in checked.invalid:
        print(f"  INVALID: {key}")
    print(f"results verified by the key version each names: {checked.valid} valid, "
          f"{len(checked.invalid)} invalid")  # fmt: skip
    return ExitCode.OK if not checked.invalid else ExitCode.FAILED


# -------------------------------------------------------------------------------------- logs


@dataclass(frozen=True)
class LogsRequest:
    """``logs``: which environment's function, from how long ago, and whether to follow."""

    workspace: Workspace
    env: str
    since_seconds: float = 600.0
    follow: bool = False
    profile: str | None = None
    endpoint_url: str | None = None
    rotation: bool = False  # the rotation function's log group instead of the function's
    preview: str | None = None

    @property
    def connection(self) -> Connection:
        """How to reach the environment's account."""
        return Connection(self.workspace, self.profile, self.endpoint_url)


def _log_line(event: Mapping[str, Any]) -> str:
    stamp = datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, UTC)
    message = str(event.get("message", "")).rstrip("\n")
    return f"{stamp:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + f"Z {event.get('logStreamName', '')} {message}"


def read_logs(
    logs: Any,
    group: str,
    start_ms: int,
    seen: set[str],
) -> tuple[list[Mapping[str, Any]], int]:
    """Every event of the log group from ``start_ms`` not seen yet (all pages), oldest first,
    and where the next read should start."""
    events: list[Mapping[str, Any]] = []
    for page in logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, startTime=start_ms
    ):
        for event in page.get("events", []):
            if str(event.get("eventId")) not in seen:
                seen.add(str(event.get("eventId")))
                events.append(event)
    events.sort(key=lambda e: (int(e.get("timestamp", 0)), str(e.get("eventId"))))
    latest = max((int(e.get("timestamp", 0)) for e in events), default=start_ms)
    return events, latest


def logs(
    request: LogsRequest,
    runtime: Runtime,
    sleep: Callable[[float], None] | None = None,
    now_ms: Callable[[], int] | None = None,
) -> int:
    """``logs --env E``: the function's log lines since ``since_seconds`` ago; with ``follow``,
    keep printing new ones every two seconds until interrupted."""
    root = request.workspace.root
    env = load_environment(root, request.env, request.preview)
    group = naming.rotation_log_group(env.name) if request.rotation else naming.log_group(env.name)
    client = runtime.clients(request.connection, env).client("logs")
    clock_ms = now_ms or (lambda: int(datetime.now(UTC).timestamp() * 1000))
    start = clock_ms() - int(request.since_seconds * 1000)
    seen: set[str] = set()
    try:
        events, start = read_logs(client, group, start, seen)
    except client.exceptions.ResourceNotFoundException:
        raise GeneratorError(
            f"log group {group} does not exist; expected the stack of environment {env.name} "
            "deployed (and the function run at least once)",
            ExitCode.USAGE,
        ) from None
    for event in events:
        print(_log_line(event), flush=True)
    while request.follow:
        (sleep or SystemClock().sleep)(2.0)
        # From the newest timestamp seen (events of that millisecond not yet seen still come).
        events, start = read_logs(client, group, start, seen)
        for event in events:
            print(_log_line(event), flush=True)
    return ExitCode.OK
