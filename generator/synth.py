"""``synth``, ``check`` and ``schema``: generated files, exactly as the generator writes them."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import naming
from generator.config import Environment, json_schema, load_environments
from generator.contracts import ArtifactRef
from generator.docs import ENVIRONMENTS_DOC, render_environment_reference
from generator.errors import ExitCode
from generator.render import to_json, write_atomic
from generator.stack import build_template
from generator.stack.bootstrap import build_bootstrap_template
from generator.workspace import Workspace

SCHEMA_FILE = f"{naming.ENVIRONMENTS_DIR}/environment.schema.json"


@dataclass(frozen=True)
class Selection:
    """The repository to generate for, and which environments (None: every one)."""

    workspace: Workspace
    names: tuple[str, ...] | None = None

    @property
    def root(self) -> Path:
        """The repository root."""
        return self.workspace.root

    @property
    def name_list(self) -> list[str] | None:
        """The environment names as the loader takes them."""
        return list(self.names) if self.names is not None else None


def handler_artifact(root: Path) -> ArtifactRef:
    """The handler artifact's key and sha256 (built or reused from the cache)."""
    from generator.package import artifact

    return artifact(root)


def render_templates(envs: Iterable[Environment], artifact: ArtifactRef) -> dict[str, str]:
    """Every app template plus the bootstrap template, keyed by repo-relative path. Pure."""
    files = {
        naming.template_file(env.name): to_json(build_template(env, artifact).to_dict())
        for env in envs
    }
    files[f"{naming.TEMPLATES_DIR}/{naming.BOOTSTRAP_TEMPLATE}"] = to_json(
        build_bootstrap_template().to_dict()
    )
    return files


def render_ci_access(envs: Mapping[str, Environment]) -> dict[str, str]:
    """The CI account-access template, over every environment in an AWS account. Pure."""
    # Imported here: `synth --env` and the deploy commands never build it.
    from generator.ci_access import TEMPLATE_FILE as CI_ACCESS_FILE
    from generator.ci_access import build_ci_access_template

    ci_envs = {name: env for name, env in sorted(envs.items()) if not env.emulator}
    return {CI_ACCESS_FILE: to_json(build_ci_access_template(ci_envs).to_dict())}


def expected_files(root: Path, names: list[str] | None = None) -> dict[str, str]:
    """What the generator writes for these environments (all when ``names`` is None)."""
    envs = load_environments(root / naming.ENVIRONMENTS_DIR, names, root)
    files = render_templates(envs.values(), handler_artifact(root))
    if names is None:
        files.update(render_ci_access(envs))
    schema = json_schema()  # built once: the schema file and the reference both show it
    files[SCHEMA_FILE] = to_json(schema)
    files[ENVIRONMENTS_DOC] = render_environment_reference(schema)
    return files


def stale_files(root: Path, expected: dict[str, str]) -> list[str]:
    """Generated templates whose environment no longer exists."""
    present = {
        f"{naming.TEMPLATES_DIR}/{p.name}" for p in (root / naming.TEMPLATES_DIR).glob("*.json")
    }
    return sorted(present - set(expected))


def differences(root: Path, expected: dict[str, str]) -> list[str]:
    """Files whose content on disk is not what the generator writes."""
    changed = []
    for rel, content in sorted(expected.items()):
        path = root / rel
        try:
            if path.read_text(encoding="utf-8") == content:
                continue
        except FileNotFoundError:
            pass
        changed.append(rel)
    return changed


def synth(root: Path, names: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Write what changed (each file atomically, after every file rendered); return changed and
    removed paths."""
    expected = expected_files(root, names)
    changed = differences(root, expected)
    for rel in changed:
        write_atomic(root / rel, expected[rel])
    removed = stale_files(root, expected) if names is None else []
    for rel in removed:
        (root / rel).unlink()
    return changed, removed


def run_synth(selection: Selection) -> int:
    """Command ``synth``: write what changed and say what it did."""
    changed, removed = synth(selection.root, selection.name_list)
    for rel in changed:
        print(f"wrote    {rel}")
    for rel in removed:
        print(f"removed  {rel} (no environment file)")
    if not changed and not removed:
        print("templates are up to date")
    return ExitCode.OK


def run_check(selection: Selection) -> int:
    """Command ``check``: exit 1 when a committed generated file differs or is stale."""
    root, names = selection.root, selection.name_list
    expected = expected_files(root, names)
    changed = differences(root, expected)
    stale = stale_files(root, expected) if names is None else []
    if not changed and not stale:
        print(f"ok: {len(expected)} generated files match the generator")
        return ExitCode.OK
    for rel in changed:
        print(f"differs: {rel}", file=sys.stderr)
    for rel in stale:
        print(f"stale:   {rel} (no environment file)", file=sys.stderr)
    print("run `python -m generator synth` and commit the result", file=sys.stderr)
    return ExitCode.DIFFERS


def run_schema() -> int:
    """Command ``schema``: the JSON Schema of an environment file on stdout."""
    doc: dict[str, Any] = json_schema()
    sys.stdout.write(to_json(doc))
    return ExitCode.OK
