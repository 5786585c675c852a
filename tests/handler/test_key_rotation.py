"""Key versions in results, verification by the named version, and the rotation function."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import rotation
from botocore.exceptions import ClientError
from fileproc.errors import SecretUnreadable
from fileproc.secret import signing_key_from
from fileproc.signing import (
    RESULT_FORMAT_V1,
    SIGNED_FIELDS_V1,
    SigningKey,
    build_result,
    secret_password_of,
    sign,
    verify_result,
    verify_with_versions,
)
from moto import mock_aws
from moto.secretsmanager.models import secretsmanager_backends

from tests.handler.conftest import PASSWORD, World

ACCOUNT, REGION = "123456789012", "us-east-1"


def _result(signing_key: SigningKey, key: str = "uploads/a.txt") -> dict[str, Any]:
    return build_result(
        bucket="b", key=key, version_id="v1", size=1, sha256="0" * 64, etag="e",
        content_type=None, signing_key=signing_key,
    )  # fmt: skip


# ------------------------------------------------------------------------------- pure, fakes


def test_the_signed_payload_names_the_key_version() -> None:
    result = _result(SigningKey("pw-1", "version-1"))
    assert result["key_version"] == "version-1"
    assert result["format"] == "serverlessapp.result/v2"
    # key_version is inside the signed bytes: changing it breaks the signature.
    assert not verify_result({**result, "key_version": "version-2"}, "pw-1")


def test_verification_uses_the_version_the_result_names() -> None:
    keys = {"version-1": "pw-1", "version-2": "pw-2"}
    asked: list[str | None] = []

    def password_of(version: str | None) -> str | None:
        asked.append(version)
        return keys.get(version or "")

    old, new = _result(SigningKey("pw-1", "version-1")), _result(SigningKey("pw-2", "version-2"))
    assert verify_with_versions(old, password_of)
    assert verify_with_versions(new, password_of)
    assert asked == ["version-1", "version-2"]


@pytest.mark.parametrize("key_version", ["version-2", "version-gone", "", None, 7])
def test_rejects_a_result_whose_key_version_was_changed(key_version: Any) -> None:
    keys = {"version-1": "pw-1", "version-2": "pw-2"}
    result = {**_result(SigningKey("pw-1", "version-1")), "key_version": key_version}
    assert not verify_with_versions(result, lambda v: keys.get(v or ""))


def test_a_v1_result_without_a_key_version_still_verifies() -> None:
    fields = {
        "bucket": "b", "content_type": None, "etag": "e", "format": RESULT_FORMAT_V1,
        "key": "k", "sha256": "0" * 64, "signature_algorithm": "HMAC-SHA256", "size": 1,
        "version_id": None,
    }  # fmt: skip
    assert set(fields) == set(SIGNED_FIELDS_V1)
    result = {**fields, "signature": sign(fields, "pw-0")}
    assert verify_result(result, "pw-0")
    assert verify_with_versions(result, lambda v: "pw-0" if v is None else None)
    assert not verify_result({**result, "key_version": "x"}, "pw-0")


def test_signing_key_repr_never_shows_the_password() -> None:
    assert "pw-secret" not in repr(SigningKey("pw-secret", "v"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"VersionId": "v", "SecretString": "not json"}, "no non-empty string 'password'"),
        ({"VersionId": "v", "SecretString": '{"password": ""}'}, "no non-empty string"),
        ({"VersionId": "", "SecretString": '{"password": "p"}'}, "without a VersionId"),
        ("a plain string", "no non-empty string"),
    ],
)
def test_rejects_a_secret_value_without_password_or_version(value: Any, message: str) -> None:
    with pytest.raises(SecretUnreadable, match=message):
        signing_key_from(value, "arn:secret")


# ------------------------------------------------------------------ rotation steps, on moto


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        client.create_secret(
            Name="ServerlessApp/dev/app",
            SecretString=json.dumps({"username": "admin", "password": PASSWORD}),
        )
        yield client


def start_rotation(secret_id: str, token: str) -> None:
    """What RotateSecret does before it calls the function: a value-less AWSPENDING version.

    (moto's own rotate_secret would invoke the function in Docker, which these tests do not use.)
    """
    secret = secretsmanager_backends[ACCOUNT][REGION].secrets[secret_id]
    secret.versions[token] = {
        "createdate": int(time.time()),
        "version_id": token,
        "version_stages": ["AWSPENDING"],
    }


def step(client: Any, name: str, secret_id: str, token: str) -> None:
    rotation.lambda_handler(
        {"Step": name, "SecretId": secret_id, "ClientRequestToken": token}, None, client
    )


def rotate(client: Any, secret_id: str, token: str) -> None:
    start_rotation(secret_id, token)
    for name in rotation.STEPS:
        step(client, name, secret_id, token)


def stages(client: Any, secret_id: str) -> dict[str, list[str]]:
    return dict(client.describe_secret(SecretId=secret_id)["VersionIdsToStages"])


def value(client: Any, secret_id: str, **version: str) -> dict[str, Any]:
    return dict(json.loads(client.get_secret_value(SecretId=secret_id, **version)["SecretString"]))


def test_create_secret_puts_the_pending_version_once(secrets: Any) -> None:
    sid, token = "ServerlessApp/dev/app", "11111111-1111-4111-8111-111111111111"
    start_rotation(sid, token)
    step(secrets, "createSecret", sid, token)
    pending = value(secrets, sid, VersionId=token, VersionStage="AWSPENDING")
    step(secrets, "createSecret", sid, token)  # Secrets Manager retries a failed rotation

    assert value(secrets, sid, VersionId=token, VersionStage="AWSPENDING") == pending
    assert pending["username"] == "admin"
    assert pending["password"] != PASSWORD
    assert len(pending["password"]) == rotation.DEFAULT_PASSWORD_LENGTH
    assert not set(pending["password"]) & set(rotation.DEFAULT_EXCLUDE_CHARACTERS)
    assert value(secrets, sid, VersionStage="AWSCURRENT")["password"] == PASSWORD


def test_finish_secret_moves_awscurrent_and_keeps_the_old_version(secrets: Any) -> None:
    sid, token = "ServerlessApp/dev/app", "22222222-2222-4222-8222-222222222222"
    old = secrets.get_secret_value(SecretId=sid)["VersionId"]
    rotate(secrets, sid, token)
    step(secrets, "finishSecret", sid, token)  # a retried finish changes nothing

    assert stages(secrets, sid) == {old: ["AWSPREVIOUS"], token: ["AWSCURRENT"]}
    assert value(secrets, sid, VersionId=old)["password"] == PASSWORD
    assert value(secrets, sid, VersionStage="AWSCURRENT")["password"] != PASSWORD


def test_two_rotations_keep_every_version_readable(secrets: Any) -> None:
    sid = "ServerlessApp/dev/app"
    first = secrets.get_secret_value(SecretId=sid)["VersionId"]
    tokens = ["33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"]
    for token in tokens:
        rotate(secrets, sid, token)
    # The first version lost its last label (deprecated) but still exists: results signed with
    # it verify until Secrets Manager removes it (only beyond 100 versions).
    assert value(secrets, sid, VersionId=first)["password"] == PASSWORD
    assert stages(secrets, sid)[tokens[1]] == ["AWSCURRENT"]


def test_set_secret_changes_nothing(secrets: Any) -> None:
    sid, token = "ServerlessApp/dev/app", "55555555-5555-4555-8555-555555555555"
    start_rotation(sid, token)
    step(secrets, "createSecret", sid, token)
    before = stages(secrets, sid)
    step(secrets, "setSecret", sid, token)
    assert stages(secrets, sid) == before


def test_test_secret_fails_if_the_pending_value_has_no_password(secrets: Any) -> None:
    sid, token = "ServerlessApp/dev/app", "66666666-6666-4666-8666-666666666666"
    secrets.put_secret_value(
        SecretId=sid, ClientRequestToken=token, SecretString="{}", VersionStages=["AWSPENDING"]
    )
    with pytest.raises(rotation.RotationError, match="no non-empty string 'password'"):
        step(secrets, "testSecret", sid, token)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"Step": "dropSecret", "SecretId": "s", "ClientRequestToken": "t"}, "Step is"),
        ({"Step": "createSecret", "SecretId": "", "ClientRequestToken": "t"}, "SecretId is"),
        ({"Step": "createSecret", "SecretId": "s"}, "ClientRequestToken is"),
    ],
)
def test_rejects_malformed_rotation_requests(event: dict[str, Any], message: str) -> None:
    with pytest.raises(rotation.RotationError, match=message):
        rotation.lambda_handler(event, None, client=object())


def test_rejects_a_token_that_is_not_a_version_being_rotated(secrets: Any) -> None:
    sid = "ServerlessApp/dev/app"
    with pytest.raises(rotation.RotationError, match="has no version"):
        step(secrets, "createSecret", sid, "77777777-7777-4777-8777-777777777777")
    old = secrets.get_secret_value(SecretId=sid)["VersionId"]
    rotate(secrets, sid, "88888888-8888-4888-8888-888888888888")
    with pytest.raises(rotation.RotationError, match="expected AWSPENDING"):
        step(secrets, "createSecret", sid, old)  # now AWSPREVIOUS


# -------------------------------------------------- the handler across a rotation, on moto


def test_a_result_signed_before_a_rotation_verifies_after_it(world: World) -> None:
    from fileproc import aws

    world.invoke(world.event_for("uploads/before.txt", b"before"))
    rotate(world.secrets, world.secret_arn, "99999999-9999-4999-8999-999999999999")
    aws.reset()  # a new execution environment (or an expired cache) reads the new key
    world.invoke(world.event_for("uploads/after.txt", b"after"))

    by_key = {r["key"]: r for r in (world.result(k) for k in world.result_keys())}
    before, after = by_key["uploads/before.txt"], by_key["uploads/after.txt"]
    assert before["key_version"] != after["key_version"]
    assert after["key_version"] == "99999999-9999-4999-8999-999999999999"
    password_of = secret_password_of(world.secrets, world.secret_arn)
    assert verify_with_versions(before, password_of)
    assert verify_with_versions(after, password_of)
    # The old key no longer verifies the new result, nor the other way round.
    assert not verify_with_versions({**before, "key_version": after["key_version"]}, password_of)
    assert not verify_with_versions({**after, "key_version": before["key_version"]}, password_of)
    gone = {**after, "key_version": "00000000-0000-4000-8000-000000000000"}
    assert not verify_with_versions(gone, password_of)


def test_password_lookup_raises_on_errors_other_than_a_missing_version(world: World) -> None:
    class Denied:
        def get_secret_value(self, **_: Any) -> Any:
            error = {"Error": {"Code": "AccessDeniedException", "Message": "no"}}
            raise ClientError(error, "GetSecretValue")  # type: ignore[arg-type]

    with pytest.raises(ClientError):
        secret_password_of(Denied(), "arn")("v")
