"""The emulated Lambda runtime's bootstrap, run as ``python -c <this file's text> HANDLER RESULT``.

It runs in a fresh process whose working directory is the unpacked function code (first on
``sys.path``, like ``/var/task``) and whose environment is the function's configuration. It reads
the event as JSON on stdin, calls the handler, and writes ``{"ok": ..., "payload": ...}`` to the
RESULT file. It imports nothing from this repository, so the deployed artifact runs as deployed.
"""

import importlib
import json
import os
import sys
import time
import traceback
import uuid


class Context:
    """The subset of Lambda's context object that handlers and Powertools read."""

    def __init__(self, deadline: float) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.function_name = name
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("EMULATOR_FUNCTION_ARN", name)
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = os.environ.get("EMULATOR_REQUEST_ID", str(uuid.uuid4()))
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    """Run one invocation; exit 0 when the handler returned, 1 when it raised."""
    handler, result_path = sys.argv[1], sys.argv[2]
    timeout = float(os.environ.get("EMULATOR_TIMEOUT_SECONDS", "3"))
    event = json.load(sys.stdin)
    try:
        module_name, function_name = handler.rsplit(".", 1)
        function = getattr(importlib.import_module(module_name), function_name)
        payload = function(event, Context(time.monotonic() + timeout))
        outcome = {"ok": True, "payload": payload}
    except Exception as exc:  # every failure is the invocation's result, as in Lambda
        traceback.print_exc()
        outcome = {
            "ok": False,
            "payload": {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_exc().splitlines(),
            },
        }
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump(outcome, out, default=str)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
