"""render.to_json: the fast encoder writes exactly what json.dumps writes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.render import to_json


def _stdlib(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_documents = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=30,
)


@given(_documents)
def test_writes_the_same_bytes_as_json_dumps(document: Any) -> None:
    assert to_json(document) == _stdlib(document)


@pytest.mark.parametrize(
    "document",
    [
        {1: "int key", 2: "sorted as numbers"},
        {True: "bool keys", False: "become strings"},
        {1.5: "float key", 0.25: "also"},
        {"nan": math.nan, "inf": [math.inf, -math.inf]},
        {"unicode": "caf\u00e9 \U0001f600", "control": '\x00\n\t"\\'},
        [[], {}, (), [[{}]]],
    ],
)
def test_unusual_documents_match_json_dumps(document: Any) -> None:
    assert to_json(document) == _stdlib(document)


def test_rejects_what_json_dumps_rejects() -> None:
    with pytest.raises(TypeError):
        to_json({"set": {1, 2}})
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        to_json(circular)
    with pytest.raises(TypeError):
        to_json({1: "x", "a": "mixed key types cannot be sorted"})


def test_every_committed_template_round_trips_to_its_own_bytes() -> None:
    from generator.workspace import CHECKOUT

    for path in sorted((CHECKOUT / "templates").glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert to_json(json.loads(text)) == text, path.name
