"""The `lint` command: cfn-lint and checkov over every committed template; any finding fails.

Most tests use small fake tool executables, so they do not depend on checkov being installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from generator import gates
from generator.errors import ExitCode, GeneratorError
from generator.workspace import Workspace

pytestmark = [pytest.mark.integration, pytest.mark.slow(2)]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLEAN_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Description": "Nothing for any linter to find.",
    "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
}


def fake_tool(folder: Path, name: str, output: str, exit_code: int) -> Path:
    """An executable that records its arguments, prints ``output`` and exits with ``exit_code``."""
    script = folder / name
    record = folder / f"{name}.argv.json"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"print({output!r})\n"
        f"sys.exit({exit_code})\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def recorded_argv(folder: Path, name: str) -> list[str]:
    """The arguments a fake tool was last called with."""
    return list(json.loads((folder / f"{name}.argv.json").read_text(encoding="utf-8")))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository root with two committed templates."""
    templates = tmp_path / "templates"
    templates.mkdir()
    for name in ("dev.json", "prod.json"):
        (templates / name).write_text(json.dumps(CLEAN_TEMPLATE), encoding="utf-8")
    return tmp_path


@pytest.fixture
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for fake tool executables."""
    return tmp_path_factory.mktemp("tools")


def use_fakes(
    monkeypatch: pytest.MonkeyPatch,
    tools: Path,
    cfn_lint: tuple[str, int] = ("", 0),
    checkov: tuple[str, int] = ("", 0),
) -> None:
    """Point the gate at fake cfn-lint and checkov executables."""
    monkeypatch.setenv("CFN_LINT", str(fake_tool(tools, "cfn-lint", *cfn_lint)))
    monkeypatch.setenv("CHECKOV", str(fake_tool(tools, "checkov", *checkov)))


def run_lint(root: Path) -> int:
    """Run the `lint` command function on a repository root."""
    return gates.lint(Workspace(root.resolve()))


def test_passes_when_both_tools_find_nothing(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use_fakes(monkeypatch, tools)
    assert run_lint(repo) == 0
    out = capsys.readouterr().out
    assert "cfn-lint: no findings" in out
    assert "checkov: no findings" in out


def test_fails_if_cfn_lint_reports_a_finding(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    finding = "templates/dev.json:3:5:3:9:E9004:AWS::CloudWatch::Alarm A has AlarmActions None"
    use_fakes(monkeypatch, tools, cfn_lint=(finding, 2))
    assert run_lint(repo) == 1
    out = capsys.readouterr().out
    assert finding in out
    assert "cfn-lint: 1 finding (exit code 2)" in out
    assert "checkov: no findings" in out


def test_fails_if_checkov_reports_failed_checks(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = (
        "cloudformation scan results:\n\nPassed checks: 40, Failed checks: 2, Skipped checks: 1"
    )
    use_fakes(monkeypatch, tools, checkov=(report, 1))
    assert run_lint(repo) == 1
    out = capsys.readouterr().out
    assert "Failed checks: 2" in out
    assert "checkov: 2 findings (exit code 1)" in out


def test_fails_if_a_tool_crashes_without_output(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use_fakes(monkeypatch, tools, checkov=("", 3))
    assert run_lint(repo) == 1
    assert "checkov: 1 finding (exit code 3)" in capsys.readouterr().out


def test_passes_every_template_and_the_gate_options_to_both_tools(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path
) -> None:
    use_fakes(monkeypatch, tools)
    run_lint(repo)
    templates = [str(repo / "templates" / name) for name in ("dev.json", "prod.json")]
    cfn_lint = recorded_argv(tools, "cfn-lint")
    assert cfn_lint[cfn_lint.index("--include-checks") + 1] == "I"
    appended = [cfn_lint[i + 1] for i, arg in enumerate(cfn_lint) if arg == "--append-rules"]
    assert appended == ["cfn_lint_serverless.rules", str(gates.RULES_DIR)]
    assert cfn_lint[-2:] == templates
    checkov = recorded_argv(tools, "checkov")
    assert {"--skip-download", "--quiet", "--compact"} <= set(checkov)
    assert checkov[checkov.index("--framework") + 1] == "cloudformation"
    assert checkov[-3:] == ["--file", *templates]


def test_lints_for_every_region_the_templates_deploy_to(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path
) -> None:
    prod = dict(CLEAN_TEMPLATE, Metadata={"ServerlessApp": {"region": "eu-west-1"}})
    (repo / "templates" / "prod.json").write_text(json.dumps(prod), encoding="utf-8")
    use_fakes(monkeypatch, tools)
    run_lint(repo)
    cfn_lint = recorded_argv(tools, "cfn-lint")
    start = cfn_lint.index("--regions") + 1
    assert cfn_lint[start : start + 3] == ["eu-west-1", "us-east-1", "--include-checks"]


def test_rejects_missing_checkov_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path
) -> None:
    use_fakes(monkeypatch, tools)
    monkeypatch.setenv("CHECKOV", str(tools / "no-such-checkov"))
    with pytest.raises(GeneratorError) as caught:
        run_lint(repo)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "no-such-checkov" in str(caught.value)
    assert gates.CHECKOV_INSTALL in str(caught.value)


def test_rejects_missing_default_checkov_virtualenv(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path
) -> None:
    use_fakes(monkeypatch, tools)
    monkeypatch.delenv("CHECKOV")
    monkeypatch.setattr(gates, "CHECKOUT", repo)  # a checkout without .venv-checkov
    with pytest.raises(GeneratorError, match=r"\.venv-checkov/bin/checkov"):
        run_lint(repo)


def test_rejects_missing_cfn_lint(monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path) -> None:
    use_fakes(monkeypatch, tools)
    monkeypatch.setenv("CFN_LINT", str(tools / "no-such-cfn-lint"))
    with pytest.raises(GeneratorError, match="no-such-cfn-lint") as caught:
        run_lint(repo)
    assert caught.value.exit_code == ExitCode.USAGE


def test_rejects_a_repository_without_templates(
    monkeypatch: pytest.MonkeyPatch, tools: Path, tmp_path: Path
) -> None:
    use_fakes(monkeypatch, tools)
    with pytest.raises(GeneratorError, match="no templates found") as caught:
        run_lint(tmp_path)
    assert caught.value.exit_code == ExitCode.USAGE


def test_runs_no_tool_when_one_is_missing(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path
) -> None:
    use_fakes(monkeypatch, tools)
    monkeypatch.setenv("CHECKOV", str(tools / "no-such-checkov"))
    with pytest.raises(GeneratorError):
        run_lint(repo)
    assert not (tools / "cfn-lint.argv.json").exists()


def test_real_cfn_lint_passes_a_clean_template(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path
) -> None:
    use_fakes(monkeypatch, tools)
    monkeypatch.delenv("CFN_LINT")
    assert run_lint(repo) == 0


def test_real_cfn_lint_fails_on_a_project_rule(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use_fakes(monkeypatch, tools)
    monkeypatch.delenv("CFN_LINT")
    bad = (FIXTURES / "e9004_fail.json").read_text(encoding="utf-8")
    (repo / "templates" / "dev.json").write_text(bad, encoding="utf-8")
    assert run_lint(repo) == 1
    out = capsys.readouterr().out
    assert ":E9004:AWS::CloudWatch::Alarm NoActions has AlarmActions None" in out


def test_cli_exits_2_and_names_the_install_command_when_checkov_is_missing(
    monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from generator.cli import main

    use_fakes(monkeypatch, tools)
    monkeypatch.setenv("CHECKOV", str(tools / "no-such-checkov"))
    assert main(["lint", "--root", str(repo)]) == 2
    assert gates.CHECKOV_INSTALL in capsys.readouterr().err


def test_cli_exits_1_on_a_finding(monkeypatch: pytest.MonkeyPatch, tools: Path, repo: Path) -> None:
    from generator.cli import main

    use_fakes(monkeypatch, tools, cfn_lint=("templates/dev.json:1:1:1:1:E9001:x", 2))
    assert main(["lint", "--root", str(repo)]) == 1
