"""The base of the handler's small immutable value types (outcomes, parsed records).

Not dataclasses, and not NamedTuples where a field is called ``index`` (it would shadow
``tuple.index``): a dataclass writes the source of its ``__init__``, ``__eq__``, ``__repr__``,
``__hash__`` and ``__setattr__`` and compiles it when its class is created, which every cold start
pays (1 to 4 ms a class; six classes cost more than the reference handler's whole first event).
This class gives the same behaviour, compiled once with the module: each value class names its
fields in order in ``__match_args__`` (as a dataclass does, so ``match`` works the same), stores
them in ``__slots__`` and sets each exactly once in ``__init__``.
"""

from __future__ import annotations

from typing import Any, Self, cast


class Value:
    """Equality, hash and repr over the fields named in ``__match_args__``; set once each."""

    __match_args__: tuple[str, ...] = ()
    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__match_args__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, Value):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__name__}({fields})"

    def _replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied (NamedTuple's name for it)."""
        fields = {name: getattr(self, name) for name in self.__match_args__}
        fields.update(changes)
        return cast(Self, cast(Any, type(self))(**fields))

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, name):  # frozen: __init__ sets each field once, nothing changes it
            raise AttributeError(f"cannot assign to field {name!r} of {type(self).__name__}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of {type(self).__name__}")
