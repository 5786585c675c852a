"""The command layer: argparse only in generator/cli/, lazy imports, one workspace."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator.workspace import CHECKOUT, STATE_DIR_VARIABLE, Workspace

PACKAGE = CHECKOUT / "generator"
# Modules a command that only generates files must never load: they cost start-up time and memory.
HEAVY = ("boto3", "botocore", "moto", "generator.deploy", "generator.emulator")

# Runs the CLI in-process after recording nothing else, then prints every loaded module.
_PROBE = """
import json, sys
from generator.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
print("\\n" + json.dumps(sorted(sys.modules)))
"""


def _imported_modules(*argv: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "argv", [("--help",), ("synth", "--env", "dev"), ("check",), ("schema",)], ids=" ".join
)
def test_generating_commands_never_import_aws_or_deploy_code(argv: tuple[str, ...]) -> None:
    loaded = _imported_modules(*argv)
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []


def _imports_argparse(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "argparse":
            return True
    return False


def test_only_the_command_layer_imports_argparse() -> None:
    offenders = [
        str(path.relative_to(CHECKOUT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "cli" not in path.relative_to(PACKAGE).parts[:1] and _imports_argparse(path)
    ]
    assert offenders == []


def test_workspace_state_folder_is_dot_state_under_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STATE_DIR_VARIABLE, raising=False)
    assert Workspace(tmp_path).state_dir == tmp_path / ".state"


def test_workspace_state_folder_honours_the_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(tmp_path / "elsewhere"))
    assert Workspace(tmp_path / "repo").state_dir == tmp_path / "elsewhere"


def test_an_unknown_command_is_a_usage_error() -> None:
    from generator.cli import main

    with pytest.raises(SystemExit) as raised:
        main(["no-such-command"])
    assert raised.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ("deploy", "--env", "dev", "--bogus"),
        ("plan", "--env", "local", "--keep", "--bogus"),
        ("synth", "--bogus"),
        ("landing-zone", "check", "--bogus", "extra"),
    ],
    ids=" ".join,
)
def test_an_unknown_flag_shows_the_usage_of_the_command_it_was_given_to(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    from generator.cli import main

    with pytest.raises(SystemExit) as raised:
        main(list(argv))
    assert raised.value.code == 2
    err = capsys.readouterr().err
    command = f"python -m generator {argv[0]}"
    assert err.startswith(f"usage: {command} [-h]")
    unknown = " ".join(argv[argv.index("--bogus") :])
    assert err.endswith(f"{command}: error: unrecognized arguments: {unknown}\n")


def test_the_parsed_arguments_carry_no_parser_bookkeeping() -> None:
    from generator.cli import build_parser

    args = build_parser().parse_args(["synth", "--env", "dev"])
    assert [name for name in vars(args) if name.startswith("_")] == []


def test_an_interrupt_is_exit_130_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from generator import synth
    from generator.cli import main

    def interrupted(selection: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(synth, "run_check", interrupted)
    assert main(["check"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_exit_4_and_its_trace_in_a_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from generator import synth
    from generator.cli import main

    def broken(selection: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(synth, "run_check", broken)
    monkeypatch.setenv("SERVERLESSAPP_STATE_DIR", str(tmp_path / "state"))
    assert main(["check"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line, no traceback
    assert err.startswith("error: unexpected RuntimeError: a bug; the full trace is in ")
    [trace] = (tmp_path / "state" / "errors").iterdir()
    assert str(trace) in err
    text = trace.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert 'raise RuntimeError("a bug")' in text


def test_sigterm_ends_a_command_through_its_cleanup_with_exit_143(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import signal

    from generator import synth
    from generator.cli import main

    cleaned: list[str] = []

    def long_running(selection: object) -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            return 0
        finally:
            cleaned.append("finally ran")

    monkeypatch.setattr(synth, "run_check", long_running)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert main(["check"]) == 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert cleaned == ["finally ran"]
    assert "terminated by SIGTERM" in capsys.readouterr().err
