"""Property-based tests: malformed input never escapes as an unexpected exception type, and a
valid event always yields exactly one verifiable result."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote, quote_plus

import app
from fileproc.errors import HandlerError
from fileproc.settings import settings_from_env
from fileproc.signing import SigningKey, verify_result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.handler.conftest import BUCKET, PASSWORD, load_event
from tests.handler.fakes import MemoryStore

CONFIG = settings_from_env(
    {"SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x", "BUCKET_NAME": BUCKET}
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
# Keys S3 accepts: valid UTF-8 (no lone surrogates), at most 1024 bytes with the prefix.
key_suffixes = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200
).filter(lambda s: len(("uploads/" + s).encode("utf-8")) <= 1024)
encoders = st.sampled_from(
    [
        lambda k: quote_plus(k, safe="/"),  # AWS
        lambda k: quote_plus(k, safe=""),  # moto: "/" as %2F
        lambda k: quote(k, safe="/").replace("%20", "+"),
    ]
)


def _run(event: Any, store: MemoryStore) -> dict[str, Any] | HandlerError:
    try:
        return app.handle(event, CONFIG, store, lambda: SigningKey(PASSWORD, "key-v1"))
    except HandlerError as exc:
        return exc
    finally:
        app.metrics.clear_metrics()


def _mutate(event: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    target: Any = event
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return event


@PROPERTY_SETTINGS
@given(event=json_values)
def test_arbitrary_json_never_raises_an_unexpected_exception(event: Any) -> None:
    outcome = _run(event, MemoryStore())
    assert isinstance(outcome, dict | HandlerError)


@PROPERTY_SETTINGS
@given(
    path=st.sampled_from(
        [
            ["Records"],
            ["Records", 0],
            ["Records", 0, "eventSource"],
            ["Records", 0, "eventName"],
            ["Records", 0, "s3"],
            ["Records", 0, "s3", "bucket"],
            ["Records", 0, "s3", "bucket", "name"],
            ["Records", 0, "s3", "object"],
            ["Records", 0, "s3", "object", "key"],
            ["Records", 0, "s3", "object", "size"],
            ["Records", 0, "s3", "object", "versionId"],
            ["Records", 0, "s3", "object", "eTag"],
        ]
    ),
    value=json_values,
)
def test_a_corrupted_field_never_raises_an_unexpected_exception(
    path: list[str | int], value: Any
) -> None:
    store = MemoryStore()
    version, etag = store.upload(BUCKET, "uploads/reports/2026/summary.txt", b"hello world!")
    event = load_event("aws_object_created_put")
    event["Records"][0]["s3"]["object"].update(versionId=version, eTag=etag)

    outcome = _run(_mutate(event, path, value), store)

    assert isinstance(outcome, dict | HandlerError)
    assert len(store.results) <= 1


@PROPERTY_SETTINGS
@given(
    suffix=key_suffixes,
    body=st.binary(max_size=3000),
    encode=encoders,
    versioned=st.booleans(),
    extra_records=st.integers(min_value=0, max_value=2),
)
def test_a_valid_event_yields_exactly_one_verifiable_result(
    suffix: str, body: bytes, encode: Any, versioned: bool, extra_records: int
) -> None:
    key = "uploads/" + suffix
    store = MemoryStore()
    version, etag = store.upload(BUCKET, key, body)
    event = load_event("aws_object_created_put")
    obj = event["Records"][0]["s3"]["object"]
    obj.update(key=encode(key), size=len(body), eTag=etag)
    if versioned:
        obj["versionId"] = version
    else:
        del obj["versionId"]
    # Records the handler must skip do not change the count.
    skipped = load_event("outside_prefix")["Records"] * extra_records
    event["Records"] = skipped + event["Records"]

    outcome = _run(event, store)

    assert isinstance(outcome, dict), outcome
    assert len(outcome["processed"]) == 1
    assert len(store.results) == 1
    (result_key,), (body_json,) = store.results.keys(), store.results.values()
    result = json.loads(body_json)
    assert result_key == (BUCKET, outcome["processed"][0])
    assert result["key"] == key
    assert result["size"] == len(body)
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    assert verify_result(result, PASSWORD)
    assert len(result_key[1].encode("utf-8")) <= 1024
    # A second delivery of the same event writes nothing new.
    again = _run(event, store)
    assert isinstance(again, dict)
    assert again["processed"] == []
    assert len(store.results) == 1
