"""``up``, ``down``, ``upload`` and ``demo``: the embedded emulator and the pipeline end to end.

``upload`` works against any environment (the emulator or a real account): it puts a file under
the upload prefix, waits for the function's result under the results prefix, and verifies the
result's signature with the secret's password.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from generator import naming
from generator.config import Environment, load_environments
from generator.emulator import server
from generator.emulator.target import DEFAULT_ENVIRONMENT, Target, state_dir, target_for
from generator.errors import ExitCode, GeneratorError

ROOT = Path(__file__).resolve().parents[2]
SIGNING_MODULE = "handler/fileproc/signing.py"


def _load_env(root: Path, name: str) -> Environment:
    return load_environments(root / naming.ENVIRONMENTS_DIR, [name], root)[name]


# ---------------------------------------------------------------------------------- up / down


def run_up(args: argparse.Namespace) -> int:
    """Start the emulator if it is not running; print its endpoint."""
    endpoint = server.ensure_running(state_dir(Path(args.root)))
    print(f"emulator running at {endpoint} (log: {server.log_file(state_dir(Path(args.root)))})")
    return ExitCode.OK


def run_down(args: argparse.Namespace) -> int:
    """Stop the emulator; its state (every emulated resource) goes with it."""
    if server.stop(state_dir(Path(args.root))):
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


def _session(target: Target, args: argparse.Namespace) -> boto3.session.Session:
    if target.session is not None:
        return target.session
    return boto3.session.Session(profile_name=getattr(args, "profile", None))


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

    deadline = time.monotonic() + timeout_seconds
    found = None
    while found is None and time.monotonic() < deadline:
        found = find_result(s3, bucket, env.storage.results_prefix, accept)
        if found is None:
            time.sleep(0.5)
    if found is None:
        where = (
            f"the emulator's log {server.log_file(state_dir(root))}"
            if target.emulated
            else f"the log group {naming.log_group(env.name)}"
        )
        raise GeneratorError(
            f"no result for s3://{bucket}/{key} under {env.storage.results_prefix} after "
            f"{timeout_seconds:.0f}s; expected the function to write one. See {where}",
            ExitCode.TIMED_OUT,
        )
    result_key, result = found
    secret = json.loads(
        secrets.get_secret_value(SecretId=naming.secret_name(env.name))["SecretString"]
    )
    valid = bool(load_signing(root).verify_result(result, secret["password"]))
    print(f"result s3://{bucket}/{result_key}:")
    print(json.dumps(result, indent=2, sort_keys=True))
    verdict = "valid" if valid else "INVALID"
    secret_name = naming.secret_name(env.name)
    print(f"signature: {verdict} (HMAC-SHA256 keyed by the password in {secret_name})")
    return ExitCode.OK if valid else ExitCode.FAILED


def run_upload(args: argparse.Namespace) -> int:
    """``upload --env E FILE``."""
    root = Path(args.root)
    env = _load_env(root, args.env)
    if args.preview:  # the preview's bucket and function (docs/previews.md)
        from generator import preview

        envs = load_environments(root / naming.ENVIRONMENTS_DIR, None, root)
        preview.validate(env.name, args.preview, envs)
        env = preview.preview_environment(env, args.preview, None)
    target = target_for(env, root, args.endpoint_url)
    return upload_and_verify(
        env, root, Path(args.file), target, _session(target, args), args.timeout_seconds
    )


# --------------------------------------------------------------------------------------- demo


def sample_file(folder: Path) -> Path:
    """A small text file to push through the pipeline."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"demo-{stamp}.txt"
    path.write_text(f"Hello from the ServerlessApp demo, {stamp}.\n", encoding="utf-8")
    return path


def run_demo(args: argparse.Namespace) -> int:
    """Deploy the environment, then upload a sample file and verify its result."""
    from generator.cli import main

    deploy_args = ["deploy", "--env", args.env, "--root", args.root]
    if args.endpoint_url:
        deploy_args += ["--endpoint-url", args.endpoint_url]
    code = main(deploy_args)
    if code != ExitCode.OK:
        return code
    root = Path(args.root)
    env = _load_env(root, args.env)
    target = target_for(env, root, args.endpoint_url)
    sample = sample_file(state_dir(root) / "demo")
    return upload_and_verify(
        env, root, sample, target, _session(target, args), args.timeout_seconds
    )


# ------------------------------------------------------------------------------------ parsers


def _root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", default=DEFAULT_ENVIRONMENT,
        help=f"environment name (environments/ENV.yaml); default: {DEFAULT_ENVIRONMENT}",
    )  # fmt: skip
    parser.add_argument("--profile", help="AWS named profile for a real account")
    parser.add_argument(
        "--endpoint-url", default=None, help="an emulator already running elsewhere"
    )
    parser.add_argument(
        "--timeout-seconds", type=float, default=60.0,
        help="how long to wait for the result (default: 60)",
    )  # fmt: skip


def register(subparsers: Any) -> None:
    """Add ``up``, ``down``, ``upload`` and ``demo``."""
    up = subparsers.add_parser(
        "up", help="start the embedded AWS emulator (moto) on loopback",
        description="Start the emulator in the background unless it is running; print its "
        "endpoint. `deploy --env local` does this by itself.",
    )  # fmt: skip
    _root(up)
    up.set_defaults(func=run_up)

    down = subparsers.add_parser(
        "down", help="stop the embedded AWS emulator (its resources go with it)"
    )
    _root(down)
    down.set_defaults(func=run_down)

    upload = subparsers.add_parser(
        "upload", help="upload a file, wait for its result and verify the signature",
        description="Put FILE under the upload prefix of the environment's data bucket, wait "
        "for the function's result under the results prefix, print it, and verify its "
        "signature with the secret's password. Exit 0 when valid, 4 when not, 5 on timeout.",
    )  # fmt: skip
    _root(upload)
    _target(upload)
    upload.add_argument("file", help="the file to upload")
    upload.add_argument("--preview", metavar="NAME", help="upload to this preview of ENV")
    upload.set_defaults(func=run_upload)

    demo = subparsers.add_parser(
        "demo", help="deploy, upload a sample file and show its verified result",
    )  # fmt: skip
    _root(demo)
    _target(demo)
    demo.set_defaults(func=run_demo)
