"""The modules that register CLI commands (each exposes ``register(subparsers)``)."""

from __future__ import annotations

import importlib
from types import ModuleType

# One line per command module; order is the order of `--help`.
_MODULES = (
    "generator.synth",
    "generator.package",
    "generator.gates",
    "generator.rollout_command",
    "generator.deploy.cli",
    "generator.preview_command",
    "generator.emulator.cli",
)


def modules() -> list[ModuleType]:
    """Import and return every command module."""
    return [importlib.import_module(name) for name in _MODULES]
