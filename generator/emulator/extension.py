"""The emulator's extension of moto 5.2.5, installed only in the emulator server process (and in
this package's own tests). The deploy code never imports it: it talks to the emulator over HTTP
exactly as it talks to AWS.

What it adds, on top of the generic fixes of ``generator.emulator.moto_fixes``:

- the resource types of ``generator.emulator.models`` (secrets, alarms, bucket policy,
  EventInvokeConfig, SNS/SQS policies, subscriptions, event source mappings; buckets and
  functions keep the properties moto drops) and ``generator.emulator.rotation_model`` (the
  secret's rotation schedule);
- S3 notifications and ``lambda:Invoke`` run the function's deployed code in a subprocess, on the
  Python its runtime names (``generator.emulator.delivery``), instead of Docker;
- SQS event source mappings polled by ``generator.emulator.poller`` (batches, partial batch
  responses, redrive);
- metrics and alarms (``generator.emulator.observability``), hooked into the two above.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import moto.awslambda.models as lambda_models
import moto.cloudformation.parsing as cfn_parsing
import moto.s3.notifications as s3_notifications

from generator.emulator import models, moto_fixes, observability, rotation_model
from generator.emulator.delivery import Deliverer, invocation_for
from generator.emulator.patching import PatchSet
from generator.emulator.poller import Poller

_PATCHES = PatchSet("emulator")
_lock = threading.Lock()
_current: dict[str, Any] = {}


def _clear_model_caches() -> None:
    cfn_parsing.get_model_list.cache_clear()
    cfn_parsing.get_model_map.cache_clear()
    cfn_parsing.get_name_type_map.cache_clear()


def install(
    endpoint_url: str,
    work_dir: Path,
    poll: bool = False,
    apply_delay_seconds: float | None = None,
) -> Deliverer:
    """Switch the extension on; functions run against ``endpoint_url``, unpacked in ``work_dir``.

    ``poll`` starts the background poller (event source mappings, queue metrics, alarms); the
    server passes it, in-process tests drive ``poller()`` by hand instead.
    ``apply_delay_seconds``: ExecuteChangeSet returns at once and applies this much later, as on
    AWS (the server); None applies inside the request (in-process tests).
    """
    with _lock:
        if _PATCHES.applied:
            raise RuntimeError("the emulator extension is already installed")
        deliverer = Deliverer(endpoint_url=endpoint_url, work_dir=work_dir)
        poller_ = Poller(deliverer)
        observability.install(deliverer, poller_)
        _current.update(deliverer=deliverer, poller=poller_)
        models.set_active(True)
        _clear_model_caches()
        moto_fixes.install(apply_delay_seconds)
        _PATCHES.replace(s3_notifications, "_invoke_awslambda", _invoke_from_s3)
        _PATCHES.replace(lambda_models.LambdaFunction, "invoke", _invoke_api)
        if poll:
            poller_.start()
        return deliverer


def uninstall() -> None:
    """Restore moto's own behaviour (waits for running invocations)."""
    with _lock:
        _PATCHES.restore()
        moto_fixes.uninstall()
        models.set_active(False)
        _clear_model_caches()
        deliverer = _current.pop("deliverer", None)
        poller_ = _current.pop("poller", None)
    if poller_ is not None:
        poller_.stop()
    if deliverer is not None:
        deliverer.shutdown()


@contextmanager
def installed(endpoint_url: str, work_dir: Path) -> Iterator[Deliverer]:
    """The extension, installed for the duration of a ``with`` block."""
    deliverer = install(endpoint_url, work_dir)
    try:
        yield deliverer
    finally:
        uninstall()


def poller() -> Poller:
    """The installed extension's poller (mappings, and metrics and alarms every few seconds)."""
    found: Poller = _current["poller"]
    return found


def _deliverer() -> Deliverer:
    found: Deliverer = _current["deliverer"]
    return found


# ---------------------------------------------------------------------------------------------
# Lambda delivery
# ---------------------------------------------------------------------------------------------


def _invoke_from_s3(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    from moto.awslambda.utils import get_backend

    try:
        function = get_backend(account_id, region_name).get_function(fn_arn)
    except Exception as exc:  # S3 delivers asynchronously: a missing function drops the event
        print(f"[emulator] S3 event for {fn_arn} dropped: {exc}", flush=True)
        return
    _deliverer().invoke_async(invocation_for(function, account_id, region_name), event_body)


def _invoke_api(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
    """``lambda:Invoke``: RequestResponse runs now; Event is queued like an S3 notification."""
    event = json.loads(body) if body else {}
    invocation = invocation_for(self, self.account_id, self.region)
    kind = request_headers.get("x-amz-invocation-type", "RequestResponse")
    if kind == "Event":
        _deliverer().invoke_async(invocation, event)
        return ""
    outcome = _deliverer().invoke_sync(invocation, event)
    if not outcome.ok:
        response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps(outcome.payload).encode("utf-8")


# Imported for the resource type it registers (AWS::SecretsManager::RotationSchedule).
_REGISTERED = rotation_model
