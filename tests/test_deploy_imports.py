"""The deploy commands run with requirements-deploy.txt alone: no emulator, no dev tool.

CI's jobs that hold AWS credentials install only the hash-locked runtime (``make install-deploy``).
Here every installed package that the lock does not hold is hidden from the import system (a
``sys.meta_path`` finder raising ModuleNotFoundError, as a missing package would), and the deploy
commands run in a subprocess. No test reaches AWS: the runs that get past argument parsing have no
credentials, no config files, instance metadata off and an endpoint on a closed loopback port, so
they stop at the first AWS call (botocore: "Unable to locate credentials", raised before anything
is sent) having imported everything up to it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from generator.workspace import CHECKOUT

PACKAGE = CHECKOUT / "generator"
# Modules that need what the lock leaves out, by design: cfn-lint's rule classes (the lint gate)
# and the emulator's moto models (the `local` environment; the deploy path imports only the
# emulator's launcher, which loads no moto).
DEV_ONLY = ("generator.cfnlint_rules", "generator.emulator.")

_PROBE = """
import importlib, importlib.metadata as metadata, json, re, runpy, sys

allowed = set(json.loads(sys.argv[1]))
mode, rest = sys.argv[2], sys.argv[3:]
canonical = lambda name: re.sub(r"[-_.]+", "-", name).lower()
hidden = {
    top for top, dists in metadata.packages_distributions().items()
    if not any(canonical(d) in allowed for d in dists)
}
preloaded = {m.split(".")[0] for m in sys.modules} & hidden


class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the lock)", name=name)
        return None


sys.meta_path.insert(0, Hide())
failed, code = {}, 0
if mode == "import":
    for module in rest:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            failed[module] = str(exc)
else:
    sys.argv = ["generator", *rest]
    try:
        runpy.run_module("generator", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
sys.stdout.flush()
leaked = sorted(({m.split(".")[0] for m in sys.modules} & hidden) - preloaded)
print("\\n" + json.dumps({"failed": failed, "leaked": leaked, "code": code}))
"""


def _locked() -> list[str]:
    text = (CHECKOUT / "requirements-deploy.txt").read_text(encoding="utf-8")
    names = {canonicalize_name(m) for m in re.findall(r"^([A-Za-z0-9._-]+)==", text, re.M)}
    # The project itself, and the pip every virtualenv has.
    return sorted(names | {"serverlessapp-gitops", "pip"})


def _no_aws() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **env,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }


def _probe(mode: str, *args: str) -> tuple[dict[str, Any], str]:
    # A state folder of its own: two probes of one stack at once would meet the run lock.
    with tempfile.TemporaryDirectory() as state:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, json.dumps(_locked()), mode, *args],
            cwd=CHECKOUT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**_no_aws(), "SERVERLESSAPP_STATE_DIR": state},
            check=False,
        )
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    report: dict[str, Any] = json.loads(lines[-1])
    return report, result.stdout + result.stderr


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(CHECKOUT).with_suffix("").parts
        if parts[-1] == "__main__":  # importing it runs the CLI
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_but_the_lint_rules_and_moto_models_imports_with_the_lock_alone() -> None:
    report, output = _probe("import", *_modules())
    needs_more = sorted(m for m in report["failed"] if not m.startswith(DEV_ONLY))
    assert needs_more == [], output
    assert report["leaked"] == [], output


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("environments", "--json", "--ci"),
        ("plan", "--help"),
        ("deploy", "--help"),
        ("status", "--help"),
        ("destroy", "--help"),
        ("previews", "--help"),
    ],
    ids=" ".join,
)
def test_the_ci_commands_run_with_the_lock_alone(argv: tuple[str, ...]) -> None:
    report, output = _probe("run", *argv)
    assert (report["code"], report["leaked"]) == (0, []), output


@pytest.mark.parametrize(
    "argv",
    [
        ("plan", "--env", "dev"),
        # --allow-dirty: this checkout may have uncommitted changes while its tests run.
        ("deploy", "--env", "dev", "--allow-dirty"),
        ("status", "--env", "dev"),
        ("previews", "--env", "dev"),
    ],
    ids=" ".join,
)
def test_the_deploy_commands_reach_aws_with_the_lock_alone(argv: tuple[str, ...]) -> None:
    report, output = _probe("run", *argv)
    assert report["leaked"] == [], output
    # botocore's NoCredentialsError: raised while signing, so nothing was sent.
    assert "Unable to locate credentials" in output, output
    assert "No module named" not in output, output
