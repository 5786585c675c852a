"""``up``, ``down``, ``upload``, ``rotate`` and ``demo``: the emulator and the pipeline end to end.

``upload`` works against any environment (the emulator or a real account): it puts a file under
the upload prefix, waits for the function's result under the results prefix, and verifies the
result's signature with the secret version the result names. ``rotate`` rotates the signing key
now (the stack's rotation function) and verifies every result by its key version.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3

from generator import naming
from generator.clock import Deadline, SystemClock, poll
from generator.config import Environment, load_environments
from generator.emulator import server
from generator.emulator.target import Target, target_for
from generator.errors import ExitCode, GeneratorError
from generator.workspace import Workspace, state_dir

if TYPE_CHECKING:
    from generator.deploy.runtime import Runtime

SIGNING_MODULE = "handler/fileproc/signing.py"


def _load_env(root: Path, name: str) -> Environment:
    return load_environments(root / naming.ENVIRONMENTS_DIR, [name], root)[name]


# ---------------------------------------------------------------------------------- up / down


@dataclass(frozen=True)
class UploadRequest:
    """Which environment, reached how, which file, and how long to wait for its result."""

    workspace: Workspace
    env: str
    file: Path | None = None  # None (``demo``): a sample file written under the state folder
    profile: str | None = None
    endpoint_url: str | None = None
    timeout_seconds: float = 60.0


def up(workspace: Workspace) -> int:
    """Start the emulator if it is not running; print its endpoint."""
    endpoint = server.ensure_running(workspace.state_dir)
    print(f"emulator running at {endpoint} (log: {server.log_file(workspace.state_dir)})")
    return ExitCode.OK


def down(workspace: Workspace) -> int:
    """Stop the emulator; its state (every emulated resource) goes with it."""
    if server.stop(workspace.state_dir):
        print("emulator stopped; its resources are gone (the next deploy recreates them)")
    else:
        print("emulator was not running")
    return ExitCode.OK


# ------------------------------------------------------------------------------------- upload


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


def _session(target: Target, profile: str | None) -> boto3.session.Session:
    if target.session is not None:
        return target.session
    return boto3.session.Session(profile_name=profile)


def upload_and_verify(
    env: Environment,
    root: Path,
    path: Path,
    target: Target,
    session: boto3.session.Session,
    timeout_seconds: float,
) -> int:
    """Upload one file, wait for its result, print it and whether its signature verifies."""
    s3 = session.client("s3", region_name=env.region, endpoint_url=target.endpoint_url)
    secrets = session.client("secretsmanager", region_name=env.region,
                             endpoint_url=target.endpoint_url)  # fmt: skip
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
        where = (
            f"the emulator's log {server.log_file(state_dir(root))}"
            if target.emulated
            else f"the log group {naming.log_group(env.name)}"
        )
        return GeneratorError(
            f"no result for s3://{bucket}/{key} under {env.storage.results_prefix} after "
            f"{timeout_seconds:.0f}s; expected the function to write one. See {where}",
            ExitCode.TIMED_OUT,
        )

    result_key, result = poll(
        Deadline(SystemClock(), timeout_seconds),
        0.5,
        lambda: find_result(s3, bucket, env.storage.results_prefix, accept),
        timed_out,
    )
    from generator.emulator.rotation import verify_by_version

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


def upload(request: UploadRequest) -> int:
    """``upload --env E FILE``: put the file, wait for its result, verify its signature."""
    root = request.workspace.root
    env = _load_env(root, request.env)
    target = target_for(env, root, request.endpoint_url)
    path = request.file or sample_file(state_dir(root) / "demo")
    session = _session(target, request.profile)
    return upload_and_verify(env, root, path, target, session, request.timeout_seconds)


# --------------------------------------------------------------------------------------- demo


def sample_file(folder: Path) -> Path:
    """A small text file to push through the pipeline."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"demo-{stamp}.txt"
    path.write_text(f"Hello from the ServerlessApp demo, {stamp}.\n", encoding="utf-8")
    return path


def demo(request: UploadRequest, runtime: Runtime) -> int:
    """Deploy the environment, then upload a sample file and verify its result."""
    from generator.deploy import pipeline
    from generator.deploy.runtime import Connection

    connection = Connection(request.workspace, request.profile, request.endpoint_url)
    deployed = pipeline.deploy(
        pipeline.DeployRequest(pipeline.Target(connection, request.env)), runtime
    )
    if deployed != ExitCode.OK:
        return deployed
    return upload(request)


# ------------------------------------------------------------------------------------- rotate


@dataclass(frozen=True)
class RotateRequest:
    """Which environment's signing key to rotate, reached how, and how long to wait for it."""

    workspace: Workspace
    env: str
    profile: str | None = None
    endpoint_url: str | None = None
    timeout_seconds: float = 60.0


def rotate(request: RotateRequest) -> int:
    """``rotate --env E``: rotate the signing key now, then verify every result by its version."""
    from generator.emulator.rotation import rotate_now, verify_all_results

    root = request.workspace.root
    env = _load_env(root, request.env)
    target = target_for(env, root, request.endpoint_url)
    session = _session(target, request.profile)
    secrets = session.client("secretsmanager", region_name=env.region,
                             endpoint_url=target.endpoint_url)  # fmt: skip
    s3 = session.client("s3", region_name=env.region, endpoint_url=target.endpoint_url)
    rotation = rotate_now(secrets, env, request.timeout_seconds)
    print(
        f"rotated {rotation.secret}: AWSCURRENT is now version {rotation.current_version} "
        f"(AWSPREVIOUS: {rotation.previous_version})"
    )
    checked = verify_all_results(load_signing(root), s3, secrets, env)
    for version, count in checked.valid_by_version.items():
        print(f"  {count} result(s) signed with key version {version}: valid")
    for key in checked.invalid:
        print(f"  INVALID: {key}")
    print(f"results verified by the key version each names: {checked.valid} valid, "
          f"{len(checked.invalid)} invalid")  # fmt: skip
    return ExitCode.OK if not checked.invalid else ExitCode.FAILED
