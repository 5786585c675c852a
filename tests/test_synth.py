"""``synth`` and ``check``: deterministic, atomic, and catching hand edits and stale files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator import naming, synth
from generator.cli import main
from generator.contracts import ArtifactRef

SHA = "cd" * 32


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo_root: Path) -> Path:
    """A copy of the environments in an empty repo, with a fixed handler artifact."""
    shutil.copytree(
        repo_root / "environments",
        tmp_path / "environments",
        ignore=shutil.ignore_patterns("*.json"),
    )
    monkeypatch.setattr(
        synth, "handler_artifact", lambda root: ArtifactRef(naming.artifact_key(SHA), SHA)
    )
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_synth_writes_every_template_then_reports_nothing_to_do(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "--root", str(repo)]) == 0
    out = capsys.readouterr().out
    for name in ("bootstrap", "ci-access", "dev", "local", "prod", "staging"):
        assert f"wrote    templates/{name}.json" in out
    assert "wrote    environments/environment.schema.json" in out
    assert main(["synth", "--root", str(repo)]) == 0
    assert capsys.readouterr().out.strip() == "templates are up to date"


def test_two_runs_give_identical_bytes(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    main(["synth", "--root", str(repo)])
    first = snapshot(repo)
    other = tmp_path_factory.mktemp("other")
    shutil.copytree(
        repo / "environments", other / "environments", ignore=shutil.ignore_patterns("*.json")
    )
    main(["synth", "--root", str(other)])
    assert snapshot(other) == first


def test_templates_are_canonical_json(repo: Path) -> None:
    main(["synth", "--root", str(repo)])
    text = (repo / "templates" / "prod.json").read_text()
    assert text.endswith("}\n")
    assert text.isascii()
    assert '"AWSTemplateFormatVersion": "2010-09-09"' in text


def test_synth_env_limits_it_to_that_environment(repo: Path) -> None:
    assert main(["synth", "--root", str(repo), "--env", "dev"]) == 0
    written = sorted(p.name for p in (repo / "templates").iterdir())
    assert written == ["bootstrap.json", "dev.json"]


def test_check_passes_on_fresh_output_and_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["synth", "--root", str(repo)])
    before = snapshot(repo)
    assert main(["check", "--root", str(repo)]) == 0
    count = len(synth.expected_files(repo))  # templates, the schema and the generated docs
    assert f"ok: {count} generated files match" in capsys.readouterr().out
    assert snapshot(repo) == before


def test_check_fails_naming_a_hand_edited_template(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["synth", "--root", str(repo)])
    prod = repo / "templates" / "prod.json"
    prod.write_text(prod.read_text().replace('"MemorySize": 256', '"MemorySize": 512'))
    before = snapshot(repo)
    assert main(["check", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "differs: templates/prod.json" in err
    assert "dev.json" not in err
    assert "python -m generator synth" in err
    assert snapshot(repo) == before


def test_check_fails_when_an_environment_changed_but_templates_did_not(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["synth", "--root", str(repo)])
    with (repo / "environments" / "dev.yaml").open("a") as f:
        f.write("function:\n  memory_mb: 1024\n")
    assert main(["check", "--root", str(repo)]) == 1
    assert "differs: templates/dev.json" in capsys.readouterr().err


def test_check_fails_when_the_handler_artifact_changed(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["synth", "--root", str(repo)])
    other = "ef" * 32
    monkeypatch.setattr(
        synth, "handler_artifact", lambda root: ArtifactRef(naming.artifact_key(other), other)
    )
    assert main(["check", "--root", str(repo)]) == 1
    err = capsys.readouterr().err
    for name in ("dev", "local", "prod", "staging"):
        assert f"differs: templates/{name}.json" in err


def test_check_and_synth_handle_a_removed_environment(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["synth", "--root", str(repo)])
    (repo / "environments" / "staging.yaml").unlink()
    assert main(["check", "--root", str(repo)]) == 1
    assert "stale:   templates/staging.json" in capsys.readouterr().err
    assert main(["synth", "--root", str(repo)]) == 0
    assert "removed  templates/staging.json" in capsys.readouterr().out
    assert not (repo / "templates" / "staging.json").exists()


def test_a_failed_render_writes_nothing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(envs: object, artifact: object) -> dict[str, str]:
        raise RuntimeError("render failed")

    monkeypatch.setattr(synth, "render_templates", boom)
    assert main(["synth", "--root", str(repo)]) == 4  # an unexpected error: one line, exit 4
    assert not (repo / "templates").exists()


def test_write_atomic_leaves_no_temporary_file_on_failure(tmp_path: Path) -> None:
    from generator.render import write_atomic

    target = tmp_path / "t.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_committed_files_match_the_generator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0, capsys.readouterr().err


def test_schema_command_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "ServerlessApp environment"
