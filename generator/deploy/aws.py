"""Sessions, clients and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from generator.clock import Deadline
from generator.errors import ExitCode, GeneratorError

# Standard retries with a few more attempts: CloudFormation's describe calls throttle under load.
# Each attempt is bounded (botocore's default is 60 s to connect and 60 s to read), and a deploy
# with a deadline stops retrying once it has passed (``bound_retries``).
_CLIENT_CONFIG = Config(
    retries={"max_attempts": 8, "mode": "standard"}, connect_timeout=10, read_timeout=30
)


@dataclass(frozen=True)
class Clients:
    """The boto3 clients the deploy uses, all for one account and region."""

    cloudformation: Any
    s3: Any
    sts: Any
    region: str
    # Clients of other services (Secrets Manager, Logs, ...) for the same account, region and
    # endpoint; None where only the three above exist (tests' fakes).
    make: Callable[[str], Any] | None = None

    def client(self, service: str) -> Any:
        """A client of ``service`` for the same account, region and endpoint."""
        known = {"cloudformation": self.cloudformation, "s3": self.s3, "sts": self.sts}
        if service in known:
            return known[service]
        if self.make is None:
            raise GeneratorError(f"no {service} client here; expected one of {sorted(known)}")
        return self.make(service)


def bound_retries(clients: Clients, deadline: Deadline) -> None:
    """Once ``deadline`` has passed, a failed attempt of any call of these clients is not
    retried: the call ends with exit 5 instead of retrying for minutes past the deploy's limit.
    A call's first attempt still goes out (restoring a stack policy after a timeout must)."""

    def no_retry_after_deadline(
        response: Any = None, caught_exception: Any = None, operation: Any = None, **_: Any
    ) -> None:
        if not deadline.expired():
            return
        parsed: dict[str, Any] = response[1] if response else {}
        status = parsed.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        failed = caught_exception is not None or (isinstance(status, int) and status >= 500)
        if failed:
            name = getattr(operation, "name", "an AWS call")
            raise GeneratorError(
                f"timed out: the deploy's time limit passed while {name} was failing "
                f"({caught_exception or f'HTTP {status}'}); not retried",
                ExitCode.TIMED_OUT,
            )

    for client in (clients.cloudformation, clients.s3, clients.sts):
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is not None:
            events.register_first("needs-retry", no_retry_after_deadline)


def make_clients(
    region: str,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
) -> Clients:
    """Clients from the standard credential chain (or the caller's session / endpoint)."""
    if session is None:
        try:
            session = boto3.session.Session(profile_name=profile)
        except BotoCoreError as exc:
            raise GeneratorError(f"cannot start an AWS session: {exc}", ExitCode.USAGE) from None

    def client(name: str) -> Any:
        return session.client(
            name, region_name=region, endpoint_url=endpoint_url, config=_CLIENT_CONFIG
        )

    return Clients(
        cloudformation=client("cloudformation"),
        s3=client("s3"),
        sts=client("sts"),
        region=region,
        make=client,
    )


@dataclass(frozen=True)
class Identity:
    """Who is calling: account, ARN and partition (``aws``, ``aws-cn``, ``aws-us-gov``)."""

    account: str
    arn: str
    partition: str


# Refusals that mean the credentials are missing, wrong or expired (not an outage).
_CREDENTIAL_CODES = frozenset(
    {
        "AccessDenied",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
    }
)


def unreachable(exc: BaseException) -> bool:
    """Whether an error says the endpoint could not be reached or answered with a server error
    (an outage, a network problem), rather than refusing the caller."""
    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return isinstance(status, int) and status >= 500
    return False


def endpoint_of(client: Any) -> str:
    """The URL a client sends its calls to."""
    return str(getattr(getattr(client, "meta", None), "endpoint_url", "") or "AWS")


def caller_identity(sts: Any) -> Identity:
    """The caller's identity; a usage error when there are no usable credentials, a failure
    (exit 4) when AWS (or the emulator) cannot be reached."""
    try:
        reply = sts.get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        if unreachable(exc) and not (
            isinstance(exc, ClientError) and error_code(exc) in _CREDENTIAL_CODES
        ):
            raise GeneratorError(
                f"could not reach {endpoint_of(sts)} ({exc}); expected the endpoint to answer. "
                "Check the network (or that the emulator runs) and try again",
                ExitCode.FAILED,
            ) from None
        raise GeneratorError(
            f"cannot determine the AWS identity ({exc}); expected credentials from the standard "
            "chain (AWS_PROFILE, environment variables, SSO or an assumed role)",
            ExitCode.USAGE,
        ) from None
    arn = str(reply["Arn"])
    partition = arn.split(":")[1] if arn.startswith("arn:") else "aws"
    return Identity(account=str(reply["Account"]), arn=arn, partition=partition)


def check_account(sts: Any, expected: str, environment: str) -> Identity:
    """The caller's identity; refuse before creating anything when it is the wrong account."""
    identity = caller_identity(sts)
    if identity.account != expected:
        raise GeneratorError(
            f"wrong AWS account for environment {environment!r}: the credentials belong to "
            f"{identity.account} ({identity.arn}); expected {expected} (account_id in "
            f"environments/{environment}.yaml)",
            ExitCode.USAGE,
        )
    return identity


def error_code(exc: ClientError) -> str:
    """The AWS error code of a client error."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    """The AWS error message of a client error."""
    return str(exc.response.get("Error", {}).get("Message", ""))


def aws_failure(exc: ClientError | BotoCoreError) -> GeneratorError:
    """An unexpected AWS refusal (e.g. AccessDenied) as a message and exit 4."""
    if isinstance(exc, ClientError):
        operation = exc.operation_name or "an AWS call"
        return GeneratorError(
            f"AWS refused {operation}: {error_code(exc)}: {error_message(exc)}", ExitCode.FAILED
        )
    if unreachable(exc):
        return GeneratorError(
            f"could not reach the AWS endpoint ({exc}); nothing more was sent. Check the network "
            "and run the command again: it picks up from what AWS reports",
            ExitCode.FAILED,
        )
    return GeneratorError(f"AWS call failed: {exc}", ExitCode.FAILED)


def is_missing_stack(exc: ClientError) -> bool:
    """Whether CloudFormation refused because the stack does not exist.

    CloudFormation has no error code of its own for this: it answers ``ValidationError`` with
    the message "Stack with id X does not exist". The code narrows it to validation failures;
    only the message tells a missing stack from a malformed request, so this is the one place
    that reads the message.
    """
    return error_code(exc) == "ValidationError" and "does not exist" in error_message(exc)


def is_missing_change_set(exc: ClientError) -> bool:
    """Whether the change set (or the stack it belonged to) does not exist."""
    return error_code(exc) == "ChangeSetNotFound" or is_missing_stack(exc)


def pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of a list or describe call: boto3's paginator where the service has one,
    else (e.g. DescribeStackResourceDrifts) following NextToken the same way."""
    if client.can_paginate(operation):
        yield from client.get_paginator(operation).paginate(**kwargs)
        return
    call = getattr(client, operation)
    token: str | None = None
    while True:
        page: dict[str, Any] = call(**kwargs, **({"NextToken": token} if token else {}))
        yield page
        token = page.get("NextToken")
        if not token:
            return


def aware_utc(value: Any) -> datetime | None:
    """A response's timestamp as an aware datetime (a naive one is UTC), else None."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
