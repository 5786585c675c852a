"""Which GitHub repository the account-access stack trusts when ``--repository`` is not given:
the stack's, else the checkout's GitHub origin; on the emulator a placeholder; on AWS none is
guessed (exit 2)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from generator.deploy import access
from generator.errors import ExitCode, GeneratorError
from tests.deploy.conftest import REGION, FakeClock
from tests.deploy.test_recorded import context, env


class _NoProvider:
    def list_open_id_connect_providers(self) -> dict[str, Any]:
        return {"OpenIDConnectProviderList": []}


def _context(lines: list[str], **settings: Any) -> Any:
    ctx = context(boto3.client("cloudformation", region_name=REGION), FakeClock(), lines,
                  env(**settings))  # fmt: skip
    return replace(ctx, clients=replace(ctx.clients, make=lambda service: _NoProvider()))


def test_aws_without_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    with mock_aws(), pytest.raises(GeneratorError) as caught:
        access.parameters(_context([]), access.AccessRequest(target=None), tmp_path)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "no GitHub repository: expected --repository OWNER/NAME" in str(caught.value)


def test_the_emulator_trusts_a_placeholder_and_says_so(tmp_path: Path) -> None:
    lines: list[str] = []
    with mock_aws():
        found = access.parameters(
            _context(lines, emulator=True), access.AccessRequest(target=None), tmp_path
        )
    assert found == {"GitHubRepository": access.EMULATED_REPOSITORY, "CreateOidcProvider": "true"}
    assert any("the emulated roles trust example-org/serverlessapp" in line for line in lines)


def test_a_given_repository_wins(tmp_path: Path) -> None:
    with mock_aws():
        found = access.parameters(
            _context([], emulator=True), access.AccessRequest(target=None, repository="o/r"),
            tmp_path,
        )  # fmt: skip
    assert found["GitHubRepository"] == "o/r"
