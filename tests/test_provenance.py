"""A plan or deploy refuses templates `synth` would change, and a deploy records honestly what
it deployed: ``<sha>-dirty`` from a working tree with uncommitted changes, which a real account
accepts only with ``--allow-dirty``. Both are decided before any AWS call."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator.cli import main
from generator.deploy import pipeline
from generator.errors import ExitCode, GeneratorError

_COPIED = ("environments", "templates", "handler")


@pytest.fixture
def workspace(repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    for name in _COPIED:
        shutil.copytree(repo_root / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("SERVERLESSAPP_STATE_DIR", str(tmp_path / "state"))
    return root


def edit_memory(root: Path, env: str, memory_mb: int) -> None:
    path = root / "environments" / f"{env}.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings.setdefault("function", {})["memory_mb"] = memory_mb
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize("command", ["plan", "deploy"])
def test_an_environment_edit_not_synthesized_is_refused_naming_the_stale_template(
    workspace: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    edit_memory(workspace, "local", 640)
    assert main([command, "--env", "local", "--root", str(workspace)]) == 2
    err = capsys.readouterr().err
    assert "templates/local.json is out of date with environments/local.yaml" in err
    assert "`python -m generator synth`" in err


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_a_deploy_from_uncommitted_changes_to_an_account_is_refused_unless_allowed(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    git(workspace, "init", "-q")
    git(workspace, "add", ".")
    git(workspace, "commit", "-q", "-m", "base")
    head = git(workspace, "rev-parse", "HEAD")
    readme = workspace / "handler" / "app.py"
    readme.write_text(readme.read_text(encoding="utf-8") + "\n# local edit\n", encoding="utf-8")
    monkeypatch.setattr(pipeline, "refuse_stale", lambda root, env, runtime: None)

    assert main(["deploy", "--env", "dev", "--root", str(workspace)]) == 2
    err = capsys.readouterr().err
    assert "uncommitted changes (handler/app.py)" in err
    assert f"would name {head}" in err
    assert "--allow-dirty" in err

    # With the flag it goes on, tagged <sha>-dirty (and stops at the credentials here).
    tags: list[str] = []
    real = pipeline.provenance

    def recording(*args: object, **kwargs: object) -> str:
        tags.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return tags[-1]

    def no_aws(*args: object) -> None:
        raise GeneratorError("stopped before any AWS call", ExitCode.FAILED)

    monkeypatch.setattr(pipeline, "provenance", recording)
    monkeypatch.setattr(pipeline, "_connect", no_aws)
    assert main(["deploy", "--env", "dev", "--allow-dirty", "--root", str(workspace)]) == 4
    assert tags == [f"{head}-dirty"]
    assert "stopped before any AWS call" in capsys.readouterr().err


def test_a_clean_tree_is_tagged_with_its_commit_alone(workspace: Path) -> None:
    git(workspace, "init", "-q")
    git(workspace, "add", ".")
    git(workspace, "commit", "-q", "-m", "base")
    assert pipeline.uncommitted(workspace) == []
    assert pipeline.git_commit(workspace) == git(workspace, "rev-parse", "HEAD")
