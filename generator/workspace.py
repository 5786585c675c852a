"""The workspace: the repository root the commands work on and its git-ignored state folder.

Defined once so every command (and the emulator's launcher) agrees on where things live, and
``$SERVERLESSAPP_STATE_DIR`` is honoured everywhere the state folder is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The checkout this code was loaded from: the default root, and where shared build caches live.
CHECKOUT = Path(__file__).resolve().parents[1]
# Overrides ``<root>/.state`` (tests use a temporary folder, so they never touch a developer's).
STATE_DIR_VARIABLE = "SERVERLESSAPP_STATE_DIR"
STATE_DIR = ".state"


@dataclass(frozen=True)
class Workspace:
    """A repository root (environments/, templates/, handler/) and its local state."""

    root: Path = CHECKOUT

    @property
    def state_dir(self) -> Path:
        """The git-ignored folder for local state: ``$SERVERLESSAPP_STATE_DIR`` or ``.state``."""
        return state_dir(self.root)


def state_dir(root: Path) -> Path:
    """The state folder of the repository at ``root`` (the override wins)."""
    override = os.environ.get(STATE_DIR_VARIABLE)
    return Path(override) if override else root / STATE_DIR
