"""Pure parts of the handler: key decoding, result keys, signatures, settings, streaming."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from fileproc import core, events
from fileproc.errors import ConfigurationError, InvalidEvent, InvalidRecord
from fileproc.settings import settings_from_env
from fileproc.signing import SigningKey, build_result, canonical_bytes, sign, verify_result

CONFIG = settings_from_env({"SECRET_ARN": "arn:x"})


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("uploads/a+b.txt", "uploads/a b.txt"),
        ("uploads/a%2Bb.txt", "uploads/a+b.txt"),
        ("uploads%2Fdir%2Ffile", "uploads/dir/file"),
        ("uploads/caf%C3%A9.txt", "uploads/café.txt"),
        ("uploads/100%25.txt", "uploads/100%.txt"),
        ("uploads/%F0%9F%9A%80", "uploads/🚀"),
    ],
)
def test_decodes_keys_as_s3_encodes_them(raw: str, key: str) -> None:
    assert events.decode_key(raw) == key


@pytest.mark.parametrize("raw", ["uploads/%FF%FE.txt", "uploads/%C3", ""])
def test_rejects_keys_that_are_not_percent_encoded_utf8(raw: str) -> None:
    with pytest.raises(InvalidRecord):
        events.decode_key(raw)


@pytest.mark.parametrize("event", [None, [], "Records", 3])
def test_rejects_events_that_are_not_objects(event: Any) -> None:
    with pytest.raises(InvalidEvent, match="expected a JSON object"):
        events.event_records(event)


def test_rejects_records_that_are_not_a_list() -> None:
    with pytest.raises(InvalidEvent, match="expected a list"):
        events.event_records({"Records": {"0": {}}})


def test_result_key_uses_version_then_etag() -> None:
    key = "uploads/a/b.txt"
    assert core.result_key(CONFIG, key, "3HL4", "abc") == "processed/a/b.txt/v-3HL4.json"
    assert core.result_key(CONFIG, key, None, "abc") == "processed/a/b.txt/e-abc.json"


def test_result_key_of_a_very_long_key_stays_within_s3s_limit() -> None:
    key = "uploads/" + "é" * 508  # 1024 bytes
    result = core.result_key(CONFIG, key, "v" * 32, "e")
    assert len(result.encode("utf-8")) <= 1024
    assert hashlib.sha256(key.encode()).hexdigest() in result


def test_digest_stream_matches_hashlib_and_reads_in_bounded_chunks() -> None:
    data = bytes(range(256)) * 5000
    sizes: list[int | None] = []

    class Body(io.BytesIO):
        def read(self, amt: int | None = None) -> bytes:
            sizes.append(amt)
            return super().read(amt)

    assert core.digest_stream(Body(data), chunk_size=4096) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    assert set(sizes) == {4096}


def test_once_calls_at_most_once_and_remembers_failures() -> None:
    calls: list[int] = []

    def failing() -> str:
        calls.append(1)
        raise RuntimeError("no")

    wrapped = core.once(failing)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            wrapped()
    assert calls == [1]


def _result(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "bucket": "b",
        "key": "uploads/ü.txt",
        "version_id": "v1",
        "size": 3,
        "sha256": "0" * 64,
        "etag": "e",
        "content_type": None,
        "signing_key": SigningKey("pw", "key-v1"),
    }
    fields.update(overrides)
    return build_result(**fields)


def test_signature_is_hmac_sha256_over_sorted_compact_utf8_json() -> None:
    result = _result()
    fields = {k: v for k, v in result.items() if k != "signature"}
    canonical = canonical_bytes(fields)
    assert canonical.startswith(b'{"bucket":"b","content_type":null,"etag":"e",')
    assert "ü".encode() in canonical
    import hmac

    assert result["signature"] == hmac.new(b"pw", canonical, hashlib.sha256).hexdigest()
    assert sign(fields, "pw") == result["signature"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bucket", "other"),
        ("key", "uploads/u.txt"),
        ("version_id", None),
        ("size", 4),
        ("sha256", "1" * 64),
        ("etag", "f"),
        ("content_type", "text/plain"),
        ("format", "serverlessapp.result/v0"),
        ("format", "serverlessapp.result/v1"),
        ("key_version", "key-v2"),
        ("key_version", None),
        ("signature_algorithm", "HMAC-SHA1"),
        ("signature", "0" * 64),
        ("signature", "ü" * 64),
        ("signature", None),
        ("extra", 1),
    ],
)
def test_verify_rejects_any_tampered_field(field: str, value: Any) -> None:
    result = _result()
    assert verify_result(result, "pw")
    assert not verify_result({**result, field: value}, "pw")


@pytest.mark.parametrize("result", [None, [], "x", {}, {"signature": "a"}])
def test_verify_rejects_malformed_results(result: Any) -> None:
    assert not verify_result(result, "pw")


def test_settings_default_and_validate() -> None:
    assert (CONFIG.upload_prefix, CONFIG.results_prefix, CONFIG.secret_cache_seconds) == (
        "uploads/",
        "processed/",
        300,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_ARN is not set"),
        ({"SECRET_ARN": "a", "RESULTS_PREFIX": "uploads/out/"}, "overlap"),
        ({"SECRET_ARN": "a", "UPLOAD_PREFIX": "processed/in/"}, "overlap"),
        ({"SECRET_ARN": "a", "SECRET_CACHE_SECONDS": "-1"}, "SECRET_CACHE_SECONDS is '-1'"),
        ({"SECRET_ARN": "a", "SECRET_CACHE_SECONDS": "5m"}, "SECRET_CACHE_SECONDS is '5m'"),
    ],
)
def test_rejects_bad_settings(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        settings_from_env(env)
