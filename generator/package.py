"""The reproducible handler artifact: ``handler/`` plus its pinned wheels, as one zip.

Same inputs give the same bytes on any machine: entries sorted by name, one fixed timestamp and
mode, no compression (deflate output differs between zlib builds, e.g. zlib and zlib-ng), no
bytecode, and no install records (the wheels are unpacked, never pip-installed). Text sources are
read with LF line endings, so a Windows checkout builds the same zip.

Builds are cached under ``.build/handler/`` by a digest of the inputs (the handler's files,
``handler/requirements.txt`` and ``BUILDER_VERSION``), each beside a ``.sha256`` of its bytes;
wheels are cached under ``.build/wheels/`` and only a cache miss runs ``pip download`` (pinned
versions, verified hashes). A cached build is reused only when its bytes still have the hash
recorded when it was built and it is a readable zip holding the handler's current files as they
are; anything else (a truncated or edited file, a missing record) is rebuilt, and said so.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from generator import naming
from generator.contracts import ArtifactFile
from generator.errors import ExitCode, GeneratorError
from generator.render import write_atomic
from generator.workspace import CHECKOUT, Workspace

# Bump when the zip layout changes, so every cached build is rebuilt.
BUILDER_VERSION = "1"
HANDLER_DIR = "handler"
REQUIREMENTS_FILE = "requirements.txt"
BUILD_DIR = ".build"
ZIP_CACHE = "handler"
WHEEL_CACHE = "wheels"
KEEP_BUILDS = 5
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
ZIP_MODE = 0o100644  # regular file, rw-r--r--: Lambda's runtime user can read it
TEXT_SUFFIXES = frozenset({".py", ".txt", ".json", ".md", ".cfg", ".toml", ".yaml", ".yml"})
# The Lambda runtime ships these; bundling them would pin an SDK the runtime already keeps fresh.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "jmespath", "s3transfer", "urllib3"})
# Install records vary by installer and machine; RECORD would list files we leave out.
DIST_INFO_DROPPED = frozenset(
    {"RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "REQUESTED", "direct_url.json"}
)
LAMBDA_PLATFORM = (
    "--platform", "manylinux2014_x86_64",
    "--python-version", "3.13",
    "--implementation", "cp",
    "--abi", "cp313",
)  # fmt: skip

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!_-]+)$")
_HASH = re.compile(r"^--hash=sha256:(?P<hex>[0-9a-f]{64})$")


@dataclass(frozen=True)
class Requirement:
    """One pinned wheel: ``name==version`` and its allowed sha256 hashes."""

    name: str
    version: str
    hashes: tuple[str, ...]

    @property
    def normalized(self) -> str:
        """The name as wheel file names spell it (PEP 427/503)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()

    def line(self) -> str:
        """The requirement as a pip requirements line."""
        hashes = " ".join(f"--hash=sha256:{h}" for h in self.hashes)
        return f"{self.name}=={self.version} {hashes}"


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Requirement lines with continuations joined and comments dropped, with line numbers."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer.append(line[:-1].strip())
            continue
        buffer.append(line)
        joined = " ".join(part for part in buffer if part)
        buffer = []
        if joined:
            yield start, joined
    if buffer and any(buffer):
        yield start, " ".join(part for part in buffer if part)


def parse_requirements(text: str, source: str) -> list[Requirement]:
    """Parse ``name==version --hash=sha256:...`` lines; anything looser is an error."""
    requirements: list[Requirement] = []
    problems: list[str] = []
    for number, line in _logical_lines(text):
        spec, *options = line.split()
        pin = _PIN.match(spec)
        hashes = [m.group("hex") for m in map(_HASH.match, options) if m]
        if pin is None:
            problems.append(f"{source}:{number}: {spec!r} is not pinned; expected name==version")
            continue
        if not hashes or len(hashes) != len(options):
            problems.append(
                f"{source}:{number}: {spec} has options {options!r}; "
                "expected only --hash=sha256:<64 hex> options, at least one"
            )
            continue
        if pin.group("name").lower() in RUNTIME_PROVIDED:
            problems.append(
                f"{source}:{number}: {spec} is provided by the Lambda runtime; expected it absent"
            )
            continue
        requirements.append(Requirement(pin.group("name"), pin.group("version"), tuple(hashes)))
    if problems:
        raise GeneratorError("invalid handler requirements:\n  " + "\n  ".join(problems))
    return requirements


def _excluded(relative: Path) -> bool:
    """Caches, bytecode and dotfiles never enter the artifact."""
    return any(
        part == "__pycache__" or part.startswith(".") for part in relative.parts
    ) or relative.suffix in {".pyc", ".pyo"}


def normalized_bytes(path: Path) -> bytes:
    """A source file's bytes, with CRLF turned into LF for text files."""
    data = path.read_bytes()
    return data.replace(b"\r\n", b"\n") if path.suffix in TEXT_SUFFIXES else data


def candidate_files(handler_dir: Path) -> list[Path]:
    """Files under ``handler_dir`` that git would commit: tracked, or untracked but not ignored.

    An editor's backup or a stray local file must not change the artifact (and so every
    template); outside a git checkout every file counts.
    """
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],  # noqa: S607
            cwd=handler_dir, capture_output=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return [p for p in handler_dir.rglob("*") if p.is_file()]
    names = {name for name in listed.decode("utf-8").split("\0") if name}
    return [handler_dir / name for name in sorted(names)]


def source_entries(handler_dir: Path) -> list[tuple[str, bytes]]:
    """The handler's own files as (zip name, bytes), sorted; requirements.txt stays out."""
    entries = []
    for path in candidate_files(handler_dir):
        relative = path.relative_to(handler_dir)
        if path.is_file() and not _excluded(relative) and relative.as_posix() != REQUIREMENTS_FILE:
            entries.append((relative.as_posix(), normalized_bytes(path)))
    return sorted(entries)


def inputs_digest(sources: Iterable[tuple[str, bytes]], requirements_text: str) -> str:
    """Hex digest of everything that determines the zip's bytes."""
    digest = hashlib.sha256(f"builder {BUILDER_VERSION}\n".encode())
    for name, data in sources:
        digest.update(f"file {name} {len(data)}\n".encode())
        digest.update(data)
    requirements = requirements_text.replace("\r\n", "\n").encode("utf-8")
    digest.update(f"requirements {len(requirements)}\n".encode())
    digest.update(requirements)
    return digest.hexdigest()


def wheel_entries(wheel: bytes, filename: str) -> list[tuple[str, bytes]]:
    """A pure-Python wheel's files as they would be installed, minus install records."""
    if not filename.endswith("-none-any.whl"):
        raise GeneratorError(
            f"wheel {filename} is platform-specific; expected a pure-Python *-none-any.whl"
        )
    entries = []
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or _excluded(Path(name)):
                continue
            top, _, rest = name.partition("/")
            if top.endswith(".dist-info") and rest in DIST_INFO_DROPPED:
                continue
            if top.endswith(".data"):
                scheme, _, inner = rest.partition("/")
                if scheme not in {"purelib", "platlib"}:
                    continue  # scripts, headers and data files have no place in a Lambda zip
                name = inner
            entries.append((name, archive.read(info)))
    return entries


def zip_bytes(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A deterministic zip: sorted names, fixed date and mode, stored (not deflated)."""
    ordered = sorted(entries)
    names = [name for name, _ in ordered]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GeneratorError(
            f"artifact would contain {duplicates} twice; expected handler files and wheels "
            "not to overlap"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in ordered:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, so external_attr carries the mode
            info.external_attr = ZIP_MODE << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, data)
    return buffer.getvalue()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _wheel_dirs(root: Path) -> list[Path]:
    """Where cached wheels may be: this root's cache, then this checkout's (tests use copies)."""
    dirs = [root / BUILD_DIR / WHEEL_CACHE, CHECKOUT / BUILD_DIR / WHEEL_CACHE]
    return list(dict.fromkeys(d.resolve() for d in dirs))


def _cached_wheel(requirement: Requirement, dirs: Iterable[Path]) -> Path | None:
    """A cached wheel of this requirement whose hash is one of the pinned ones."""
    prefix = f"{requirement.normalized}-{requirement.version}-"
    for folder in dirs:
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.glob("*.whl")):
            if candidate.name.lower().startswith(prefix.lower()) and (
                _sha256_file(candidate) in requirement.hashes
            ):
                return candidate
    return None


def download_wheels(requirements: list[Requirement], target: Path) -> None:
    """``pip download`` pinned wheels for the Lambda platform into ``target`` (hashes checked)."""
    if not requirements:
        return
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wheels-", dir=target.parent) as tmp:
        spec = Path(tmp) / "requirements.txt"
        spec.write_text("".join(r.line() + "\n" for r in requirements), encoding="utf-8")
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary", ":all:", "--require-hashes", *LAMBDA_PLATFORM,
            "--dest", tmp, "--requirement", str(spec),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 -- fixed argv, no shell
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
            names = ", ".join(f"{r.name}=={r.version}" for r in requirements)
            raise GeneratorError(
                f"pip download of {names} failed (exit {done.returncode}); expected the pinned "
                f"wheels from the package index:\n{tail}",
                ExitCode.FAILED,
            )
        for wheel in Path(tmp).glob("*.whl"):
            os.replace(wheel, target / wheel.name)


def resolve_wheels(root: Path, requirements: list[Requirement]) -> list[Path]:
    """A verified local wheel per requirement, downloading only those not cached yet."""
    dirs = _wheel_dirs(root)
    missing = [r for r in requirements if _cached_wheel(r, dirs) is None]
    download_wheels(missing, root / BUILD_DIR / WHEEL_CACHE)
    wheels = []
    for requirement in requirements:
        found = _cached_wheel(requirement, dirs)
        if found is None:
            raise GeneratorError(
                f"no wheel of {requirement.name}=={requirement.version} matches the pinned "
                f"hashes {list(requirement.hashes)}; expected pip to fetch one",
                ExitCode.FAILED,
            )
        wheels.append(found)
    return wheels


def build_zip(root: Path, sources: list[tuple[str, bytes]], requirements_text: str) -> bytes:
    """The artifact's bytes from the handler's files and its pinned wheels."""
    source = f"{HANDLER_DIR}/{REQUIREMENTS_FILE}"
    requirements = parse_requirements(requirements_text, source)
    entries = list(sources)
    for wheel in resolve_wheels(root, requirements):
        entries.extend(wheel_entries(wheel.read_bytes(), wheel.name))
    return zip_bytes(entries)


def _prune(cache: Path, keep: Path) -> None:
    """Keep the newest few builds; older ones are only useful to switch branches back."""
    builds = sorted(cache.glob("*.zip"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in [b for b in builds if b != keep][KEEP_BUILDS - 1 :]:
        old.unlink(missing_ok=True)
        _record(old).unlink(missing_ok=True)


_MEMO: dict[Path, tuple[int, int, ArtifactFile]] = {}


def _describe(path: Path) -> ArtifactFile:
    """The artifact for a zip on disk (hash computed once per file version and process)."""
    stat = path.stat()
    memo = _MEMO.get(path)
    if memo is not None and memo[:2] == (stat.st_size, stat.st_mtime_ns):
        return memo[2]
    sha256 = _sha256_file(path)
    found = ArtifactFile(
        path=path, sha256=sha256, size=stat.st_size, key=naming.artifact_key(sha256)
    )
    _MEMO[path] = (stat.st_size, stat.st_mtime_ns, found)
    return found


def _record(path: Path) -> Path:
    """Where a cached build's sha256 is recorded: ``<digest>.zip.sha256``."""
    return path.with_name(path.name + ".sha256")


def damage(path: Path, sources: Iterable[tuple[str, bytes]]) -> str | None:
    """Why a cached build may not be reused (None: it may): its bytes must have the hash
    recorded when it was built, and it must be a zip whose handler files are ``sources``."""
    try:
        recorded = _record(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return f"{_record(path).name} (its recorded sha256) is missing or unreadable"
    if _describe(path).sha256 != recorded:
        return f"its sha256 is not the {recorded} recorded when it was built"
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
            if broken is not None:
                return f"entry {broken} fails its CRC"
            names = set(archive.namelist())
            for name, data in sources:
                if name not in names or archive.read(name) != data:
                    return f"it does not hold the handler's current {name}"
    except (OSError, zipfile.BadZipFile) as exc:
        return f"it is not a readable zip ({exc})"
    return None


def _reusable(path: Path, sources: list[tuple[str, bytes]]) -> bool:
    if not path.is_file():
        return False
    why = damage(path, sources)
    if why is None:
        return True
    print(f"cached handler build {path} is damaged: {why}; rebuilding it", file=sys.stderr)
    return False


def artifact(root: Path, *, rebuild: bool = False) -> ArtifactFile:
    """The handler artifact for the checkout at ``root``: reused from the cache when it checks
    out (``damage``), or built."""
    handler_dir = root / HANDLER_DIR
    requirements_path = handler_dir / REQUIREMENTS_FILE
    if not (handler_dir / "app.py").is_file():
        raise GeneratorError(f"{handler_dir / 'app.py'} not found; expected the Lambda handler")
    requirements_text = (
        requirements_path.read_text(encoding="utf-8") if requirements_path.is_file() else ""
    )
    sources = source_entries(handler_dir)
    digest = inputs_digest(sources, requirements_text)
    cache = root / BUILD_DIR / ZIP_CACHE
    path = cache / f"{digest}.zip"
    if not rebuild:
        shared = CHECKOUT / BUILD_DIR / ZIP_CACHE / f"{digest}.zip"
        # The checkout's own cache is tried once (and a damaged build reported once).
        candidates = (path,) if shared.resolve() == path.resolve() else (path, shared)
        for candidate in candidates:
            if _reusable(candidate, sources):
                return _describe(candidate)
    data = build_zip(root, sources, requirements_text)
    _record(path).unlink(missing_ok=True)  # no moment where a new zip has an old record
    write_atomic(path, data)
    write_atomic(_record(path), hashlib.sha256(data).hexdigest() + "\n")
    _prune(cache, keep=path)
    built = _describe(path)
    if built.sha256 != hashlib.sha256(data).hexdigest():  # written, then changed under us
        raise GeneratorError(
            f"{path} changed while it was written; expected the bytes just built", ExitCode.FAILED
        )
    return built


@dataclass(frozen=True)
class PackageOptions:
    """``package``: which checkout, and whether to ignore cached builds."""

    workspace: Workspace
    rebuild: bool = False


def show_artifact(options: PackageOptions) -> int:
    """Command ``package``: build or reuse the zip; print its sha256, path, size and key."""
    built = artifact(options.workspace.root, rebuild=options.rebuild)
    try:
        shown = built.path.relative_to(Path.cwd())
    except ValueError:
        shown = built.path
    print(f"sha256: {built.sha256}")
    print(f"path:   {shown}")
    print(f"size:   {built.size} bytes")
    print(f"key:    {built.key}")
    return int(ExitCode.OK)
