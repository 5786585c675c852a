"""The documentation: the environment reference is generated from the model (``check`` fails
when the committed copy drifts), the README stays a short entry point, and every relative link
in every document leads to a file of the repository."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from generator.config import Environment, json_schema
from generator.docs import ENVIRONMENTS_DOC, environment_reference, render_environment_reference

ROOT = Path(__file__).resolve().parents[1]
README_LIMIT_BYTES = 12 * 1024
_LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _field_paths() -> list[str]:
    paths = []
    for name, info in Environment.model_fields.items():
        if name == "name":  # from the file name, not a setting
            continue
        fields = getattr(info.annotation, "model_fields", None)
        if fields:
            paths += [f"{name}.{sub}" for sub in fields]
        else:
            paths.append(name)
    return paths


def test_the_committed_environment_reference_is_the_generated_one() -> None:
    committed = (ROOT / ENVIRONMENTS_DOC).read_text(encoding="utf-8")
    assert committed == environment_reference(), "run `python -m generator synth`"


def test_the_reference_has_a_row_for_every_setting_of_the_model() -> None:
    text = environment_reference()
    missing = [path for path in _field_paths() if f"| `{path}` |" not in text]
    assert missing == []
    assert "| `name` |" not in text  # the name comes from the file name


def test_every_setting_has_a_description() -> None:
    schema = json_schema()
    props: list[tuple[str, dict[str, Any]]] = [
        (n, p) for n, p in schema["properties"].items() if "$ref" not in p
    ]
    for model in schema["$defs"].values():
        props += list(model["properties"].items())
    assert [name for name, prop in props if not prop.get("description")] == []


def test_the_reference_shows_type_default_and_constraint() -> None:
    schema = {
        "properties": {
            "size": {"type": "integer", "default": 3, "minimum": 1, "maximum": 9,
                     "description": "How big."},
            "mode": {"anyOf": [{"type": "string", "pattern": "^(a|b)$"}, {"type": "null"}],
                     "default": None, "description": "Which one."},
            "drift": {"type": "string", "enum": ["refuse", "revert"], "default": "refuse",
                      "description": "What to do."},
        },
        "required": [],
    }  # fmt: skip
    text = render_environment_reference(schema)
    assert "| `size` | integer | `3` | 1 to 9 | How big. |" in text
    assert "| `mode` | string or null | `null` | matches `^(a\\|b)$` | Which one. |" in text
    assert '| `drift` | string | `"refuse"` | one of `"refuse"`, `"revert"` | What to do. |' in text


def test_the_readme_is_a_short_entry_point() -> None:
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT_BYTES, f"README.md is {size} bytes; move detail into docs/"


def test_the_readme_has_exactly_the_two_quick_start_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make deploy", "make test"]


@pytest.mark.parametrize("document", _documents(), ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    broken = [
        target
        for target, _ in _LINK.findall(text)
        if "://" not in target and not (document.parent / target).exists()
    ]
    assert broken == [], f"{document.name}: links to missing files"


def test_exit_codes_are_documented_once() -> None:
    tables = [p.name for p in _documents() if "| Code | Meaning |" in p.read_text("utf-8")]
    assert tables == ["operations.md"]


def _commands_in_code() -> list[tuple[str, list[str]]]:
    """Every `make ...` and `python -m generator ...` command in the documents' code (fenced
    blocks and inline spans), as words; environment assignments in front are dropped."""
    found = []
    for document in _documents():
        text = document.read_text(encoding="utf-8")
        spans = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
        spans += re.findall(r"`([^`\n]+)`", text)
        for span in spans:
            for line in span.replace("\\\n", " ").splitlines():
                words = line.split("#", 1)[0].split()
                while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                    words = words[1:]
                if words[:1] == ["make"] or words[1:3] == ["-m", "generator"]:
                    found.append((document.name, words))
    return found


def test_every_make_target_in_the_documents_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, flags=re.MULTILINE))
    missing = [
        (name, word)
        for name, words in _commands_in_code()
        if words[0] == "make"
        for word in words[1:]
        if "=" not in word and word not in targets
    ]
    assert missing == []


def test_every_generator_command_in_the_documents_parses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from generator.cli import build_parser

    parser = build_parser()
    rejected = []
    for name, words in _commands_in_code():
        if words[0] == "make":
            continue
        argv = words[words.index("generator") + 1 :]
        # A bare `python -m generator` names the program; placeholders are not commands.
        if not argv or any("<" in w or "$" in w for w in argv):
            continue
        try:
            parser.parse_args(argv)
        except SystemExit:
            rejected.append((name, " ".join(words)))
    capsys.readouterr()
    assert rejected == []
