"""Defer a dependency's dependency that the generator's own commands never touch.

troposphere imports cfn_flip (and through it PyYAML's dumpers, cfn_clean, cfn_tools and six) at
import time for one method, ``Template.to_yaml``, that nothing here calls: about 1 MiB and ~10 ms
of every ``synth`` (more without compiled bytecode). ``defer("cfn_flip")`` puts a stand-in in
``sys.modules`` that imports the real module on first attribute access, so ``to_yaml`` (or any
other user) still works unchanged, just later.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _Deferred(types.ModuleType):
    """A module that becomes the real one the first time anything is read from it."""

    def __getattr__(self, attribute: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        return getattr(real, attribute)


def defer(name: str) -> None:
    """Import ``name`` only when first used (no-op if it is already imported)."""
    if name not in sys.modules:
        sys.modules[name] = _Deferred(name)
