"""A change set as a plan: a plain-text table for logs and the same as Markdown for reviews."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from generator.deploy.changeset import Change, ChangeSet
from generator.deploy.driftplan import DriftView
from generator.deploy.guard import Verdict, Violation
from generator.deploy.values import (
    Redaction,
    ValueLine,
    split_tags_only,
    tags_only_line,
    value_lines,
)

# The stack's own tags, which reach every taggable resource (see generator.deploy.apply).
STACK_TAG_KEYS = ("template-sha256", "handler-sha256", "git-commit")

DESTRUCTIVE_MARK = "!!"
_HEADERS = ("", "Action", "Logical ID", "Type", "Replacement", "Scope / properties")


@dataclass(frozen=True)
class Plan:
    """What a change set would do to one environment's stack, and the guard's verdict."""

    environment: str
    stack_name: str
    change_set: ChangeSet
    change_set_type: str
    verdict: Verdict
    # The NoEcho parameters of the template being planned (values they set are never shown).
    redaction: Redaction = field(default_factory=Redaction)
    # Live drift of the deployed stack (None: not assessed, e.g. a new stack or the bootstrap).
    drift: DriftView | None = None

    def lines_for(self, change: Change) -> tuple[ValueLine, ...]:
        """The change's properties with before → after, redacted."""
        return value_lines(change, self.redaction)


def _properties(change: Change) -> str:
    names = []
    for detail in change.details:
        name = detail.name or detail.attribute
        # The stack's tags (attribute Tags) are already in the scope; the names list properties.
        if not name or (detail.attribute == "Tags" and not detail.name):
            continue
        if detail.requires_recreation in ("Always", "Conditionally"):
            name = f"{name} (recreates: {detail.requires_recreation})"
        if name not in names:
            names.append(name)
    scope = ", ".join(change.scope)
    if names:
        return f"{scope}: {', '.join(names)}" if scope else ", ".join(names)
    return scope


def _row(change: Change) -> tuple[str, ...]:
    return (
        DESTRUCTIVE_MARK if change.destructive else "",
        change.action,
        change.logical_id,
        change.resource_type,
        change.replacement or "-",
        _properties(change) or "-",
    )


def summary(plan: Plan) -> str:
    """Counts by action, plus replacements."""
    changes = plan.change_set.changes
    counts = Counter(c.action for c in changes)
    replacements = sum(1 for c in changes if c.replacement in ("True", "Conditional"))
    # Stack tags (template-sha256, git-commit) reach every taggable resource: say how many
    # modifications are only that, so the real change stands out.
    tags_only = len(split_tags_only(changes)[1])
    modify = f"{counts.get('Modify', 0)} to modify"
    if tags_only:
        modify += f" ({tags_only} only their tags)"
    parts = [
        f"{counts.get('Add', 0)} to add",
        modify,
        f"{counts.get('Remove', 0)} to remove",
        f"{replacements} replacement{'s' if replacements != 1 else ''} (True or Conditional)",
    ]
    other = sum(n for action, n in counts.items() if action not in ("Add", "Modify", "Remove"))
    if other:
        parts.append(f"{other} other")
    return ", ".join(parts)


def guard_lines(plan: Plan) -> list[str]:
    """What the guard decided, and how to allow a reviewed replacement."""
    verdict = plan.verdict
    lines = []
    for violation in verdict.blocked:
        lines.append(f"BLOCKED: {violation}")
    if verdict.blocked:
        ids = " ".join(f"--allow-replace {v.logical_id}" for v in verdict.blocked)
        lines.append(
            "The guard refuses to destroy stateful resources. If this was reviewed and intended, "
            f"allow exactly these ids: {ids} (or list them under deploy.allow_replace in "
            f"environments/{plan.environment}.yaml)."
        )
    for violation in verdict.allowed:
        lines.append(f"ALLOWED by review: {violation}")
    for logical_id in verdict.unused_allowances:
        lines.append(
            f"note: allowance for {logical_id} is not needed by this change set; remove it "
            "from deploy.allow_replace once deployed"
        )
    return lines


def _title(plan: Plan) -> str:
    return (
        f"Plan for {plan.stack_name} (environment {plan.environment}, "
        f"{plan.change_set_type}, change set {plan.change_set.name})"
    )


def _text_values(plan: Plan, change: Change) -> list[str]:
    """The change's properties under its row: ``MemorySize: 256 → 512``, diffs indented."""
    lines = []
    for value in plan.lines_for(change):
        lines.append(f"      {value.headline()}")
        lines.extend(f"        {diff}" for diff in value.diff)
    lines.extend(f"      {line}" for line in _drift_marks(plan, change))
    return lines


def _drift_marks(plan: Plan, change: Change) -> tuple[str, ...]:
    """What drift detection found on this resource, or what a drift-aware change set says."""
    found = plan.drift.marks(change.logical_id) if plan.drift is not None else ()
    if not found and change.drift_status in ("MODIFIED", "DELETED"):
        found = (f"drifted outside git ({change.drift_status}); this change set reverts it",)
    return found


def render_text(plan: Plan) -> str:
    """A plain-text table readable in any log (no terminal needed), each modification followed
    by its changed properties (before → after)."""
    shown, folded = split_tags_only(plan.change_set.changes)
    rows = [_HEADERS, *(_row(c) for c in shown)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    lines = [_title(plan)]
    lines.append("  ".join(cell.ljust(w) for cell, w in zip(_HEADERS, widths, strict=True)))
    for change, row in zip(shown, rows[1:], strict=True):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        lines.extend(_text_values(plan, change))
    fold = tags_only_line(folded, STACK_TAG_KEYS)
    if fold:
        lines.append(fold)
    lines.append(f"Summary: {summary(plan)}")
    if plan.drift is not None:
        lines.extend(plan.drift.text_lines())
    destructive = [c.logical_id for c in plan.change_set.changes if c.destructive]
    if destructive:
        lines.append(
            f"{DESTRUCTIVE_MARK} DESTRUCTIVE: {', '.join(destructive)} will be removed or may be "
            "replaced (a replacement is a new resource; the old one and its data are deleted)"
        )
    lines.extend(guard_lines(plan))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") if text else " "


def _code(text: str) -> str:
    """Inline code that survives backticks in the value."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _markdown_values(plan: Plan, change: Change) -> list[str]:
    """One folded block per resource: its properties (before → after), diffs fenced."""
    values = plan.lines_for(change)
    drift = _drift_marks(plan, change)
    if not values and not drift:
        return []
    count = f"{len(values)} propert{'y' if len(values) == 1 else 'ies'}"
    lines = [
        "<details>",
        f"<summary><code>{change.logical_id}</code> {change.resource_type}: {change.action}, "
        f"{count}</summary>",
        "",
    ]
    for value in values:
        lines.append(f"- {_code(value.headline())}")
        if value.diff:
            lines += ["", "  ```diff", *(f"  {d}" for d in value.diff), "  ```", ""]
    lines.extend(f"- :warning: {line}" for line in drift)
    lines += ["", "</details>", ""]
    return lines


def render_markdown(plan: Plan) -> str:
    """The same plan as GitHub-flavoured Markdown, for pull-request comments and job summaries."""
    lines = [f"### {_title(plan)}", ""]
    shown, folded = split_tags_only(plan.change_set.changes)
    if shown:
        lines.append("| " + " | ".join(h or "&nbsp;" for h in _HEADERS) + " |")
        lines.append("|" + "---|" * len(_HEADERS))
        for change in shown:
            row = list(_row(change))
            row[0] = ":warning:" if change.destructive else ""
            row[2] = f"`{row[2]}`"
            lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
        lines.append("")
    for change in shown:
        lines.extend(_markdown_values(plan, change))
    fold = tags_only_line(folded, STACK_TAG_KEYS)
    if fold:
        lines += [fold, ""]
    lines.append(f"**Summary:** {summary(plan)}")
    if plan.drift is not None:
        lines += ["", *plan.drift.markdown_lines()]
    destructive = [c for c in plan.change_set.changes if c.destructive]
    if destructive:
        lines += ["", "> [!CAUTION]", "> **Destructive changes:**"]
        lines.extend(
            f"> - `{c.logical_id}` ({c.resource_type}): "
            f"{'removed' if c.action == 'Remove' else 'replacement ' + c.replacement}"
            for c in destructive
        )
    guard = guard_lines(plan)
    if guard:
        lines += ["", *[f"- {line}" for line in guard]]
    return "\n".join(lines) + "\n"


def no_changes_text(environment: str, stack_name: str) -> str:
    """The plan when nothing changes."""
    return f"No changes: stack {stack_name} (environment {environment}) is up to date.\n"


def no_changes_markdown(environment: str, stack_name: str) -> str:
    """The same as Markdown."""
    return f"### Plan for {stack_name} (environment {environment})\n\nNo changes.\n"


# ------------------------------------------------------------------------- deploy outcomes

# Exit code → headline of a deploy that did not apply (the job summary's last word on it).
_OUTCOME_HEADLINES = {
    2: ":no_entry: **Refused** (usage or configuration)",
    3: ":no_entry: **Blocked**",
    4: ":x: **Failed**",
    5: ":hourglass: **Timed out**",
}


def _outcome_title(environment: str, stack_name: str) -> str:
    return f"### Deploy outcome for {stack_name} (environment {environment})"


def outcome_applied_markdown(plan: Plan, status: str) -> str:
    """A deploy that executed its change set."""
    return (
        f"{_outcome_title(plan.environment, plan.stack_name)}\n\n"
        f":white_check_mark: **Applied** change set `{plan.change_set.name}`: {status}.\n\n"
        f"**Applied:** {summary(plan)}\n"
    )


def outcome_no_changes_markdown(environment: str, stack_name: str) -> str:
    """A deploy that found nothing to do."""
    return f"{_outcome_title(environment, stack_name)}\n\n**No changes**: already up to date.\n"


def outcome_failed_markdown(
    environment: str, stack_name: str, error: Exception, blocked: Iterable[Violation]
) -> str:
    """A deploy that was blocked, failed or timed out: the violations or the root cause."""
    code = int(getattr(error, "exit_code", 4))
    lines = [
        _outcome_title(environment, stack_name),
        "",
        f"{_OUTCOME_HEADLINES.get(code, _OUTCOME_HEADLINES[4])} (exit {code})",
        "",
    ]
    violations = list(blocked)
    if violations:
        lines.append("Blocked by the guard:")
        lines.extend(f"- `{v.logical_id}` ({v.resource_type}): {v.reason}" for v in violations)
        lines.append("")
    lines += ["```text", str(error).replace("```", "'''"), "```"]
    return "\n".join(lines) + "\n"
