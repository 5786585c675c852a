"""One cold start in a fresh process, for bench_handler.py (not collected by pytest).

    python -B cold_child.py KIND CODE_DIR EVENTS_JSON [cold-only]

KIND is ``ours`` (module ``app``) or ``reference`` (module ``index``); EVENTS_JSON is a JSON list
of two events, the first (cold) and the second (warm). The clock starts before any import but
``time``, so the imports of the handler and of what it uses (boto3 for the reference, botocore
for ours) count, as they do on Lambda. Prints one line ``BENCH {json}`` with the seconds to import
and to finish the first event, and the AWS operations of each event (a ``before-call`` hook on
every client botocore creates, whether through boto3 or not). With ``cold-only`` it exits right
after the first event: what callgrind counts is the interpreter's start, the imports and the first
event, nothing else. The module stays this small on purpose: whatever it imports before the
handler (json and botocore.session, which both handlers import anyway) is paid by both alike.
"""

import time

_STARTED = time.perf_counter()

import sys  # noqa: E402
from typing import Any  # noqa: E402


class Context:
    """The Lambda context attributes the handlers read."""

    function_name = "ServerlessAppLambdabench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        """A fresh invocation of a 60 s function."""
        return 60_000


def main(argv: list[str]) -> None:
    """Import the handler, run its cold (and warm) event, print the figures."""
    import json

    from botocore.session import Session

    kind, code_dir, events_json = argv[:3]
    cold_only = argv[3:] == ["cold-only"]
    calls: list[str] = []
    create_client = Session.create_client

    def counted(self: Session, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
        return client

    Session.create_client = counted  # type: ignore[method-assign]
    sys.path.insert(0, code_dir)
    module = __import__("app" if kind == "ours" else "index")
    imported = time.perf_counter() - _STARTED
    cold_event, warm_event = json.loads(events_json)
    module.lambda_handler(cold_event, Context())
    cold = time.perf_counter() - _STARTED
    figures = {"import": imported, "cold": cold, "cold_calls": list(calls)}
    if not cold_only:
        calls.clear()
        module.lambda_handler(warm_event, Context())
        figures["warm_calls"] = calls
    print("BENCH " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
