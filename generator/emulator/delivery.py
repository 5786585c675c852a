"""Lambda invocations in the emulator: the deployed code runs in a subprocess, not in Docker.

moto runs functions in Docker, which this project does not require. Here an invocation unpacks the
function's deployed zip once, then runs its handler with ``python -c <bootstrap.py>`` in a fresh
process, on the Python the function's ``Runtime`` declares (``generator.emulator.runtimes``),
whose environment is the function's configured variables plus ``AWS_ENDPOINT_URL`` pointing back
at the emulator, so the handler's boto3 clients reach the emulated services.

Asynchronous invocations (S3 notifications, ``InvocationType=Event``) run on a worker thread, so
the request that caused them returns at once and the server never waits on itself. They retry as
the function's EventInvokeConfig says, then go to its OnFailure destination or dead-letter queue.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.clock import Deadline, SystemClock, until
from generator.emulator.runtimes import FunctionPython, Pythons

_BOOTSTRAP_SOURCE = (Path(__file__).with_name("bootstrap.py")).read_text(encoding="utf-8")
DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class Invocation:
    """A snapshot of what one invocation needs, taken when it is requested."""

    account_id: str
    region: str
    function_name: str
    function_arn: str
    handler: str
    code: bytes
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    log_group: str
    runtime: str = ""  # as the function declares it, e.g. python3.13
    max_retries: int = DEFAULT_RETRIES
    on_failure: str | None = None
    dead_letter_target: str | None = None


@dataclass(frozen=True)
class InvocationResult:
    """What one run of the handler gave: success, its payload, and what it printed."""

    ok: bool
    payload: Any
    logs: str
    request_id: str
    duration_ms: float = 0.0
    python: FunctionPython | None = None  # which Python ran it (None: it never started)


def invocation_for(function: Any, account_id: str, region: str) -> Invocation:
    """The invocation snapshot of a moto ``LambdaFunction``."""
    configs = getattr(function, "event_invoke_config", None) or []
    config: dict[str, Any] = dict(configs[0].config) if configs else {}
    on_failure = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    logging_config = getattr(function, "logging_config", None) or {}
    return Invocation(
        account_id=account_id,
        region=region,
        function_name=str(function.function_name),
        function_arn=str(function.function_arn),
        handler=str(function.handler),
        code=bytes(function.code_bytes or b""),
        environment={str(k): str(v) for k, v in (function.environment_vars or {}).items()},
        timeout_seconds=int(function.timeout),
        memory_mb=int(function.memory_size),
        log_group=str(logging_config.get("LogGroup") or f"/aws/lambda/{function.function_name}"),
        runtime=str(getattr(function, "run_time", None) or ""),
        max_retries=int(config.get("MaximumRetryAttempts", DEFAULT_RETRIES)),
        on_failure=on_failure,
        dead_letter_target=(getattr(function, "dead_letter_config", None) or {}).get("TargetArn"),
    )


def child_environment(invocation: Invocation, endpoint_url: str, request_id: str) -> dict[str, str]:
    """The handler process's environment: the function's variables, then the runtime's own."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(invocation.environment)
    # Reserved variables win over the function's, as in Lambda; the endpoint keeps every
    # boto3 client of the handler inside the emulator.
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": invocation.region,
            "AWS_DEFAULT_REGION": invocation.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": invocation.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(invocation.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": invocation.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": _log_stream(request_id),
            "_HANDLER": invocation.handler,
            "EMULATOR_FUNCTION_ARN": invocation.function_arn,
            "EMULATOR_REQUEST_ID": request_id,
            "EMULATOR_TIMEOUT_SECONDS": str(invocation.timeout_seconds),
        }
    )
    return env


def _log_stream(request_id: str) -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{request_id.replace('-', '')}"


def unpack(code: bytes, work_dir: Path) -> Path:
    """The folder holding the unpacked zip, unpacked once per distinct artifact."""
    if not code:
        raise ValueError("the function has no code (its S3 artifact was missing at deploy)")
    target = work_dir / "functions" / hashlib.sha256(code).hexdigest()
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    with zipfile.ZipFile(io.BytesIO(code)) as archive:
        archive.extractall(staging)  # our own artifact; zipfile refuses paths outside
    try:
        staging.rename(target)
    except OSError:  # another invocation unpacked it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def run_handler(
    invocation: Invocation,
    event: Any,
    endpoint_url: str,
    work_dir: Path,
    python: FunctionPython | None = None,
) -> InvocationResult:
    """Run the handler once in a fresh process on ``python`` (default: the emulator's own); a
    timeout or crash is a failed outcome."""
    if python is None:
        python = FunctionPython(invocation.runtime, sys.executable, _OWN_VERSION, False)
    request_id = str(uuid.uuid4())
    code_dir = unpack(invocation.code, work_dir)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".invoke-") as scratch:
        result_path = Path(scratch) / "result.json"
        command = [python.executable, "-c", _BOOTSTRAP_SOURCE, invocation.handler, str(result_path)]
        try:
            proc = subprocess.run(  # noqa: S603 - a runtime's interpreter, our bootstrap, no shell
                command,
                input=json.dumps(event),
                capture_output=True,
                text=True,
                cwd=code_dir,
                env=child_environment(invocation, endpoint_url, request_id),
                timeout=invocation.timeout_seconds + 5,
                check=False,
            )
            logs = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout or ""
            logs = out.decode() if isinstance(out, bytes) else out
            message = f"Task timed out after {invocation.timeout_seconds} seconds"
            return _failed(message, "TimeoutError", logs, request_id, started, python)
        if not result_path.exists():
            message = f"Runtime exited with code {proc.returncode} before returning a result"
            return _failed(message, "Runtime.ExitError", logs, request_id, started, python)
        result = json.loads(result_path.read_text(encoding="utf-8"))
    ok, payload = bool(result["ok"]), result["payload"]
    return InvocationResult(ok, payload, logs, request_id, _elapsed_ms(started), python)


_OWN_VERSION = ".".join(str(part) for part in sys.version_info[:3])


def _failed(
    message: str,
    error_type: str,
    logs: str,
    request_id: str,
    started: float,
    python: FunctionPython | None = None,
) -> InvocationResult:
    """A run that returned no result, shaped like Lambda's own error payload."""
    payload = {"errorMessage": message, "errorType": error_type}
    return InvocationResult(False, payload, logs, request_id, _elapsed_ms(started), python)


def _elapsed_ms(started: float) -> float:
    # The whole subprocess, cold start included: every emulated invocation is a cold one.
    return (time.monotonic() - started) * 1000


def failure_record(
    invocation: Invocation, event: Any, outcome: InvocationResult, attempts: int
) -> dict[str, Any]:
    """The record Lambda sends to an OnFailure destination."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": outcome.request_id,
            "functionArn": f"{invocation.function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": outcome.payload,
    }


@dataclass
class Deliverer:
    """Runs invocations for the emulator server; async ones on a small worker pool.

    ``observers`` are called after every run (metrics, for one); a failing observer is logged
    and never fails the invocation.
    """

    endpoint_url: str
    work_dir: Path
    retry_delay_seconds: float = 1.0
    workers: int = 4
    observers: list[Callable[[Invocation, InvocationResult], None]] = field(default_factory=list)
    # The Python of each runtime the functions declare, found once per runtime.
    pythons: Pythons = field(default_factory=Pythons)
    _pool: ThreadPoolExecutor = field(init=False)
    _pending: set[Future[None]] = field(init=False, default_factory=set)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lambda")

    def invoke_sync(self, invocation: Invocation, event: Any) -> InvocationResult:
        """One run, as ``Invoke`` with ``RequestResponse`` does (no retries)."""
        outcome = self._run(invocation, event)
        self._record_logs(invocation, outcome)
        return outcome

    def _run(self, invocation: Invocation, event: Any) -> InvocationResult:
        python = self.pythons.for_runtime(invocation.runtime)
        return run_handler(invocation, event, self.endpoint_url, self.work_dir, python)

    def invoke_async(self, invocation: Invocation, event: Any) -> None:
        """Queue an asynchronous invocation and return at once."""
        future = self._pool.submit(self._run_async, invocation, event)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait_idle(self, timeout_seconds: float) -> bool:
        """Wait until no asynchronous invocation is running; False on timeout."""

        def idle() -> bool:
            with self._lock:
                return not self._pending

        return until(Deadline(SystemClock(), timeout_seconds), 0.05, idle)

    def shutdown(self) -> None:
        """Stop taking work and wait for running invocations."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run_async(self, invocation: Invocation, event: Any) -> None:
        attempts = 0
        while True:
            attempts += 1
            try:
                outcome = self._run(invocation, event)
            except Exception as exc:  # a broken artifact is a failed invocation, not a dead thread
                outcome = InvocationResult(
                    False,
                    {"errorMessage": str(exc), "errorType": "Emulator"},
                    "",
                    str(uuid.uuid4()),
                )
            self._record_logs(invocation, outcome)
            if outcome.ok:
                return
            if attempts > invocation.max_retries:
                break
            time.sleep(self.retry_delay_seconds * attempts)
        self._send_failure(invocation, event, outcome, attempts)

    def _send_failure(
        self, invocation: Invocation, event: Any, outcome: InvocationResult, attempts: int
    ) -> None:
        if invocation.on_failure:
            _send(
                invocation,
                invocation.on_failure,
                json.dumps(failure_record(invocation, event, outcome, attempts)),
            )
        elif invocation.dead_letter_target:
            _send(invocation, invocation.dead_letter_target, json.dumps(event))
        else:
            _log(f"{invocation.function_name}: event dropped after {attempts} attempts")

    def _record_logs(self, invocation: Invocation, outcome: InvocationResult) -> None:
        status = "ok" if outcome.ok else f"error: {outcome.payload.get('errorMessage')}"
        _log(f"{invocation.function_name} {outcome.request_id}: {status}")
        for line in outcome.logs.splitlines():
            _log(f"  | {line}")
        _put_logs(invocation, outcome)
        for observer in self.observers:
            try:
                observer(invocation, outcome)
            except Exception as exc:  # a courtesy; never fail an invocation over it
                _log(f"{invocation.function_name}: {observer.__name__} failed: {exc}")


def _log(message: str) -> None:
    print(f"[emulator] {message}", file=sys.stderr, flush=True)


def _send(invocation: Invocation, target_arn: str, body: str) -> None:
    """Deliver to an SQS queue or SNS topic inside the emulator's own backends."""
    service = target_arn.split(":")[2]
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[invocation.account_id][invocation.region].send_message(
            queue_name=target_arn.rsplit(":", 1)[-1], message_body=body
        )
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[invocation.account_id][invocation.region].publish(body, arn=target_arn)
    else:
        _log(f"{invocation.function_name}: failure destination {target_arn} not emulated")


def init_start_line(python: FunctionPython) -> str:
    """Lambda's first log line of a cold start, naming the Python that ran the function.

    Lambda writes ``INIT_START Runtime Version: python:3.13.v31 ...``; the emulator writes the
    interpreter's own version, and says when it is a stand-in for the declared one.
    """
    line = f"INIT_START Runtime Version: python:{python.version}\tRuntime Version ARN: emulator"
    if not python.declared:
        line += f" (the emulator's own Python; declared {python.runtime} not found)"
    return line


def _put_logs(invocation: Invocation, outcome: InvocationResult) -> None:
    """Copy the handler's output into its CloudWatch log group, as Lambda would."""
    from moto.logs.models import logs_backends

    backend = logs_backends[invocation.account_id][invocation.region]
    stream = _log_stream(outcome.request_id)
    now = int(time.time() * 1000)
    lines = [f"START RequestId: {outcome.request_id} Version: $LATEST"]
    if outcome.python is not None:  # every emulated invocation is a cold start
        lines.insert(0, init_start_line(outcome.python))
    lines += outcome.logs.splitlines()
    lines += [f"END RequestId: {outcome.request_id}"]
    try:
        backend.ensure_log_group(invocation.log_group)
        backend.create_log_stream(invocation.log_group, stream)
        backend.put_log_events(
            invocation.log_group, stream, [{"timestamp": now, "message": m} for m in lines]
        )
    except Exception as exc:  # logs are a courtesy; never fail an invocation over them
        _log(f"could not write logs to {invocation.log_group}: {exc}")
