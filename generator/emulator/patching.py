"""Replacing moto's attributes and putting them back: the one place the emulator patches moto.

moto is pinned exactly (pyproject's ``emulator`` extra): every replacement names the moto 5.2.5
attribute it stands in for, and ``original`` calls what moto had there. Replacements are grouped
in a ``PatchSet`` that is applied and undone as a whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_ABSENT = object()  # what an owner had where it had nothing
# (owner, attribute) -> (owner, what the owner had there before it was replaced).
_saved: dict[tuple[int, str], tuple[Any, Any]] = {}


def original(owner: Any, attribute: str) -> Any:
    """What ``owner`` (a class or module) had at ``attribute`` before it was replaced."""
    return _saved[(id(owner), attribute)][1]


class PatchSet:
    """Replacements applied together and undone together."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._keys: list[tuple[int, str]] = []

    @property
    def applied(self) -> bool:
        """Whether any replacement of this set is in place."""
        return bool(self._keys)

    def replace(self, owner: Any, attribute: str, replacement: Callable[..., Any]) -> None:
        """Put ``replacement`` where ``owner`` has ``attribute``."""
        key = (id(owner), attribute)
        with _lock:
            if key in _saved:
                raise RuntimeError(f"{self.name}: {owner!r}.{attribute} is already replaced")
            # A class's own attribute (not an inherited one), so putting it back is exact; one
            # moto lacks altogether (an action it never implemented) is removed again.
            found = (
                owner.__dict__.get(attribute, _ABSENT)
                if isinstance(owner, type)
                else getattr(owner, attribute, _ABSENT)
            )
            _saved[key] = (owner, found)
            self._keys.append(key)
            setattr(owner, attribute, replacement)

    def restore(self) -> None:
        """Put back what every replacement of this set replaced, last first."""
        with _lock:
            while self._keys:
                key = self._keys.pop()
                owner, found = _saved.pop(key)
                if found is _ABSENT:
                    delattr(owner, key[1])
                else:
                    setattr(owner, key[1], found)
