"""The handler artifact: same inputs give the same bytes, cached builds are reused."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from generator import package
from generator.cli import main
from generator.errors import GeneratorError


def _wheel(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


FAKE_WHEEL_NAME = "fake_pkg-1.0-py3-none-any.whl"
FAKE_WHEEL = _wheel(
    {
        "fake_pkg/__init__.py": b"VALUE = 1\n",
        "fake_pkg/__pycache__/__init__.cpython-313.pyc": b"\x00bytecode",
        "fake_pkg-1.0.dist-info/METADATA": b"Name: fake-pkg\nVersion: 1.0\n",
        "fake_pkg-1.0.dist-info/RECORD": b"fake_pkg/__init__.py,,\n",
        "fake_pkg-1.0.dist-info/INSTALLER": b"pip\n",
        "fake_pkg-1.0.data/purelib/fake_extra.py": b"EXTRA = 2\n",
        "fake_pkg-1.0.data/scripts/fake-tool": b"#!/bin/sh\n",
    }
)
FAKE_HASH = hashlib.sha256(FAKE_WHEEL).hexdigest()
REQUIREMENTS = f"# pinned\nfake-pkg==1.0 \\\n    --hash=sha256:{FAKE_HASH}\n"


def _checkout(root: Path, *, crlf: bool = False) -> Path:
    """A minimal repo: handler sources, requirements and a warm wheel cache."""
    newline = "\r\n" if crlf else "\n"
    files = {
        "handler/app.py": newline.join(["import fake_pkg", "def lambda_handler(e, c):", ""]),
        "handler/fileproc/__init__.py": f'"""core"""{newline}',
        "handler/requirements.txt": REQUIREMENTS,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    wheels = root / ".build" / "wheels"
    wheels.mkdir(parents=True)
    (wheels / FAKE_WHEEL_NAME).write_bytes(FAKE_WHEEL)
    return root


def _entries(path: Path) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        return archive.infolist()


def test_same_inputs_give_the_same_bytes_in_two_checkouts(tmp_path: Path) -> None:
    first = package.artifact(_checkout(tmp_path / "a"))
    other = _checkout(tmp_path / "b", crlf=True)
    # Different times, modes and leftovers must not change the bytes.
    os.utime(other / "handler" / "app.py", (1_000_000_000, 1_000_000_000))
    (other / "handler" / "app.py").chmod(0o755)
    (other / "handler" / "__pycache__").mkdir()
    (other / "handler" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    (other / "handler" / ".DS_Store").write_bytes(b"x")

    second = package.artifact(other)

    assert first.path != second.path
    assert first.path.read_bytes() == second.path.read_bytes()
    assert (first.sha256, first.size) == (second.sha256, second.size)
    assert first.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.key == f"handler/{first.sha256}.zip"


def test_zip_entries_are_sorted_stored_dated_1980_and_readable(tmp_path: Path) -> None:
    built = package.artifact(_checkout(tmp_path))

    infos = _entries(built.path)
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}


def test_leaves_out_caches_dotfiles_requirements_and_install_records(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    (root / "handler" / "__pycache__").mkdir()
    (root / "handler" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    (root / "handler" / ".env").write_text("SECRET=1")

    names = {i.filename for i in _entries(package.artifact(root).path)}

    assert names == {
        "app.py",
        "fileproc/__init__.py",
        "fake_pkg/__init__.py",
        "fake_pkg-1.0.dist-info/METADATA",
        "fake_extra.py",
    }


def test_text_sources_are_stored_with_lf_line_endings(tmp_path: Path) -> None:
    built = package.artifact(_checkout(tmp_path, crlf=True))
    with zipfile.ZipFile(built.path) as archive:
        assert b"\r\n" not in archive.read("app.py")


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "handler" / "app.py").write_text("changed = True\n"),
        lambda root: (root / "handler" / "fileproc" / "new.py").write_text("x = 1\n"),
        lambda root: (root / "handler" / "fileproc" / "__init__.py").unlink(),
    ],
)
def test_any_source_change_changes_the_sha(tmp_path: Path, change: object) -> None:
    root = _checkout(tmp_path)
    before = package.artifact(root)

    change(root)  # type: ignore[operator]
    after = package.artifact(root)

    assert after.sha256 != before.sha256
    assert after.path != before.path


def test_reuses_the_cached_build_and_hashes_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _checkout(tmp_path)
    built = package.artifact(root)

    def no_build(*_: object) -> bytes:
        raise AssertionError("rebuilt although nothing changed")

    hashed: list[Path] = []
    real_hash = package._sha256_file

    def counting_hash(path: Path) -> str:
        hashed.append(path)
        return real_hash(path)

    monkeypatch.setattr(package, "build_zip", no_build)
    monkeypatch.setattr(package, "_sha256_file", counting_hash)
    package._MEMO.clear()
    for _ in range(10):
        assert package.artifact(root) == built
    assert hashed == [built.path]  # one hash of the zip per file version and process


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    offset = data.index(b"lambda_handler")  # inside the stored app.py
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


def _forge_with_record(path: Path) -> None:
    """Another zip of the same names, and a record that matches it: still not this handler."""
    with zipfile.ZipFile(path) as archive:
        entries = [(n, archive.read(n)) for n in archive.namelist()]
    forged = package.zip_bytes([(n, b"# forged\n" if n == "app.py" else d) for n, d in entries])
    path.write_bytes(forged)
    path.with_name(path.name + ".sha256").write_text(hashlib.sha256(forged).hexdigest())


@pytest.mark.parametrize(
    "damage",
    [
        _truncate,
        _flip_a_byte,
        _forge_with_record,
        lambda path: path.with_name(path.name + ".sha256").unlink(),
        lambda path: path.write_bytes(b"not a zip"),
    ],
    ids=["truncated", "a-flipped-byte", "forged-with-its-record", "record-missing", "not-a-zip"],
)
def test_rebuilds_a_damaged_cached_build_and_says_so(
    tmp_path: Path, damage: object, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(tmp_path)
    built = package.artifact(root)
    good = built.path.read_bytes()
    assert callable(damage)
    damage(built.path)
    package._MEMO.clear()

    again = package.artifact(root)

    assert again.sha256 == built.sha256
    assert again.path.read_bytes() == good
    assert "is damaged" in capsys.readouterr().err
    assert package.damage(again.path, package.source_entries(root / "handler")) is None


def test_rebuild_ignores_the_cache_and_gives_the_same_bytes(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    built = package.artifact(root)
    built.path.write_bytes(b"corrupted")

    rebuilt = package.artifact(root, rebuild=True)

    assert rebuilt.sha256 == built.sha256


def test_downloads_only_wheels_missing_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _checkout(tmp_path)
    (root / ".build" / "wheels" / FAKE_WHEEL_NAME).unlink()
    asked: list[list[str]] = []

    def fake_download(requirements: list[package.Requirement], target: Path) -> None:
        asked.append([r.name for r in requirements])
        if requirements:
            (target / FAKE_WHEEL_NAME).write_bytes(FAKE_WHEEL)

    monkeypatch.setattr(package, "download_wheels", fake_download)
    package.artifact(root)
    package.artifact(root, rebuild=True)

    assert asked == [["fake-pkg"], []]


def test_fails_if_no_wheel_matches_the_pinned_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _checkout(tmp_path)
    (root / ".build" / "wheels" / FAKE_WHEEL_NAME).write_bytes(FAKE_WHEEL + b"tampered")
    monkeypatch.setattr(package, "download_wheels", lambda *_: None)

    with pytest.raises(GeneratorError, match=r"fake-pkg==1\.0 matches the pinned hashes"):
        package.artifact(root)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("fake-pkg>=1.0 --hash=sha256:" + "a" * 64, "is not pinned"),
        ("fake-pkg==1.0", "expected only --hash"),
        ("fake-pkg==1.0 --hash=md5:abc", "expected only --hash"),
        ("fake-pkg==1.0 --index-url=x --hash=sha256:" + "a" * 64, "expected only --hash"),
        ("boto3==1.40.0 --hash=sha256:" + "a" * 64, "provided by the Lambda runtime"),
    ],
)
def test_rejects_requirements_that_are_not_pinned_and_hashed(line: str, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        package.parse_requirements(f"# comment\n{line}\n", "handler/requirements.txt")


def test_parses_continuation_lines_and_comments() -> None:
    parsed = package.parse_requirements(REQUIREMENTS + "\n# end\n", "r.txt")
    assert parsed == [package.Requirement("fake-pkg", "1.0", (FAKE_HASH,))]


def test_rejects_platform_specific_wheels() -> None:
    with pytest.raises(GeneratorError, match="platform-specific"):
        package.wheel_entries(FAKE_WHEEL, "fast-1.0-cp313-cp313-manylinux2014_x86_64.whl")


def test_fails_if_a_handler_file_collides_with_a_wheel_file(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    (root / "handler" / "fake_extra.py").write_text("shadow = True\n")

    with pytest.raises(GeneratorError, match=r"fake_extra\.py"):
        package.artifact(root)


def test_fails_without_a_handler(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError, match=r"app\.py not found"):
        package.artifact(tmp_path)


def test_package_command_prints_sha256_path_size_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(tmp_path)
    built = package.artifact(root)

    assert main(["package", "--root", str(root)]) == 0

    out = capsys.readouterr().out
    assert f"sha256: {built.sha256}" in out
    assert str(built.path.name) in out
    assert f"size:   {built.size} bytes" in out
    assert f"key:    {built.key}" in out


# The real artifact (wheels come from the cache, or from the package index on a cache miss).


def test_real_artifact_bundles_the_handler_but_not_the_sdk(repo_root: Path) -> None:
    built = package.artifact(repo_root)
    names = {i.filename for i in _entries(built.path)}

    assert "app.py" in names
    assert "fileproc/core.py" in names
    # Nothing to compile from source at a cold start beyond the handler's own modules.
    assert not any(n.startswith(("aws_lambda_powertools/", "typing_extensions")) for n in names)
    assert not any(n.startswith(("boto3/", "botocore/")) for n in names)
    assert not any("__pycache__" in n or n.endswith((".pyc", "/RECORD")) for n in names)
    assert built.size < 10 * 1024 * 1024


def test_real_artifact_imports_its_handler_from_the_zip_alone(
    repo_root: Path, tmp_path: Path
) -> None:
    built = package.artifact(repo_root)
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(tmp_path / "task")
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import app; "
        "assert app.lambda_handler and app.__file__.startswith(sys.argv[1]), app.__file__; "
        "assert 'aws_lambda_powertools' not in sys.modules"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "task")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert done.returncode == 0, done.stderr


def test_files_git_ignores_stay_out_of_the_artifact(tmp_path: Path) -> None:
    handler = tmp_path / "handler"
    (handler / "pkg").mkdir(parents=True)
    (handler / "app.py").write_text("x = 1\n")
    (handler / "pkg" / "core.py").write_text("y = 2\n")
    (tmp_path / ".gitignore").write_text("*.orig\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "handler/app.py"], check=True)
    before = package.source_entries(handler)
    (handler / "app.py.orig").write_text("leftover from a merge\n")
    assert package.source_entries(handler) == before
    # An untracked file git would commit counts: the next commit ships it.
    assert [name for name, _ in before] == ["app.py", "pkg/core.py"]


def test_a_damaged_build_of_the_checkout_itself_is_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _checkout(tmp_path)
    monkeypatch.setattr(package, "CHECKOUT", root)  # the cache to reuse is the root's own
    built = package.artifact(root)
    built.path.write_bytes(built.path.read_bytes()[:100])
    package._MEMO.clear()
    assert package.artifact(root).sha256 == built.sha256
    assert capsys.readouterr().err.count("is damaged") == 1
