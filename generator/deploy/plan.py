"""A change set as a plan: a plain-text table for logs and the same as Markdown for reviews."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from generator.deploy import security
from generator.deploy.changeset import Change, ChangeSet
from generator.deploy.driftplan import DriftView
from generator.deploy.guard import Verdict, Violation
from generator.deploy.security import SecurityReport, StatementChange
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
    # The template being planned: added resources' properties, and the security changes' after.
    template: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    # The environment's deploy.approval: a plan that widens access says so in its first line.
    approval: bool = False

    def lines_for(self, change: Change) -> tuple[ValueLine, ...]:
        """The change's properties with before → after, redacted."""
        return value_lines(change, self.redaction)

    @cached_property
    def security(self) -> SecurityReport:
        """What the change set does to access (generator.deploy.security)."""
        return security.analyze(self.change_set.changes, self.template)

    def added_properties(self, change: Change) -> Mapping[str, Any] | None:
        """An added resource's properties as the planned template declares them, redacted
        (None: the template does not declare it, or no template was given)."""
        resources = (self.template or {}).get("Resources") or {}
        resource = resources.get(change.logical_id) if isinstance(resources, Mapping) else None
        if change.action != "Add" or not isinstance(resource, Mapping):
            return None
        properties = resource.get("Properties") or {}
        if not isinstance(properties, Mapping):
            return None
        return self.redaction.properties(change.resource_type, properties)


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


# ------------------------------------------------------------------------ security changes

WIDENS_MARK = "⚠"
# The first line names this many reasons; the section lists them all.
_FIRST_LINE_REASONS = 3
_IDENTITY_HEADERS = ("", "Policy", "Effect", "Action", "Resource", "Condition")
_RESOURCE_HEADERS = ("", "Policy", "Effect", "Principal", "Action", "Resource", "Condition")
_NO_SECURITY_CHANGES = (
    "no IAM statement, resource-policy principal, permissions boundary or public-access change"
)


def widens_access(plan: Plan) -> tuple[str, ...]:
    """Why the plan widens access (empty: it does not)."""
    return plan.security.widening


def _some_reasons(reasons: Sequence[str], quote: bool) -> str:
    shown = [f"`{r}`" if quote else r for r in reasons[:_FIRST_LINE_REASONS]]
    more = len(reasons) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more else "")


def widening_line(plan: Plan, markdown: bool = False) -> str:
    """The plan's first line when it widens access and the environment's deploys need a
    reviewer's approval ("" otherwise): the approver cannot miss it."""
    reasons = widens_access(plan)
    if not plan.approval or not reasons:
        return ""
    approval = (
        f"environment {plan.environment} requires approval (deploy.approval): the approver "
        "signs exactly this; see Security changes below"
    )
    if markdown:
        return (
            f"**{WIDENS_MARK} This change widens access:** {_some_reasons(reasons, True)}. "
            f"The {approval}."
        )
    return (
        f"{WIDENS_MARK} This change widens access: {_some_reasons(reasons, False)}. The {approval}."
    )


def _security_title(plan: Plan) -> str:
    report = plan.security
    status = report.counts()
    if widens_access(plan):
        status += f"; {WIDENS_MARK} widens access"
    return f"Security changes for {plan.stack_name} (environment {plan.environment}): {status}"


def _statement_cells(change: StatementChange, resource: bool) -> list[tuple[str, ...]]:
    statement = change.statement
    mark = change.sign + (f" {WIDENS_MARK}" if change.widens else "")
    actions = statement.action_cell() or ((statement.opaque,) if statement.opaque else ())
    cells: list[tuple[str, ...]] = [(mark,), (change.policy,), (statement.effect,)]
    if resource:
        cells.append(statement.principal_cell())
    cells += [actions, statement.resource_cell(), statement.condition_cell()]
    return cells


def _grid(headers: Sequence[str], rows: Sequence[Sequence[Sequence[str]]]) -> list[str]:
    """A plain-text table whose cells may hold several lines."""
    widths = [
        max([len(header), *(len(line) for row in rows for line in row[i])])
        for i, header in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        height = max(1, *(len(cell) for cell in row))
        for k in range(height):
            cells = [
                (cell[k] if k < len(cell) else "").ljust(w)
                for cell, w in zip(row, widths, strict=True)
            ]
            lines.append("  ".join(cells).rstrip())
    return lines


def _finding_text(finding: security.Finding) -> str:
    mark = finding.sign + (f" {WIDENS_MARK}" if finding.widens else "")
    return f"{mark} {finding.owner}: {finding.text}"


def security_text(plan: Plan) -> list[str]:
    """The Security changes section for the terminal (it opens the plan)."""
    report = plan.security
    lines = [_security_title(plan)]
    if report.empty:
        lines.append(f"  ({_NO_SECURITY_CHANGES})")
        return lines
    identity, resource = report.identity_statements(), report.resource_statements()
    if identity:
        lines.append("  IAM statements (identity policies and boundaries; + added, - removed):")
        rows = [_statement_cells(c, resource=False) for c in identity]
        lines.extend(f"    {line}" for line in _grid(_IDENTITY_HEADERS, rows))
    if resource:
        lines.append("  Resource and trust policies (+ added, - removed):")
        rows = [_statement_cells(c, resource=True) for c in resource]
        lines.extend(f"    {line}" for line in _grid(_RESOURCE_HEADERS, rows))
    for category in security.CATEGORIES:
        found = report.in_category(category)
        if found:
            lines.append(f"  {category}:")
            lines.extend(f"    {_finding_text(f)}" for f in found)
    reasons = widens_access(plan)
    if reasons:
        lines.append(f"  {WIDENS_MARK} Widens access:")
        lines.extend(f"    - {reason}" for reason in reasons)
    return lines


def _md_values(values: Sequence[str]) -> str:
    return "<br>".join(_code(v) for v in values)


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Sequence[str]]]) -> list[str]:
    lines = ["| " + " | ".join(h or "&nbsp;" for h in headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [row[0][0].replace(WIDENS_MARK, ":warning:"), *(_md_values(c) for c in row[1:])]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def security_markdown(plan: Plan) -> list[str]:
    """The Security changes section in Markdown (it opens the plan)."""
    report = plan.security
    lines = [f"### {_security_title(plan)}", ""]
    if report.empty:
        return [*lines, f"No security changes: {_NO_SECURITY_CHANGES}.", ""]
    identity, resource = report.identity_statements(), report.resource_statements()
    if identity:
        lines += ["**IAM statements** (identity policies and boundaries)", ""]
        lines += _md_table(_IDENTITY_HEADERS, [_statement_cells(c, False) for c in identity])
    if resource:
        lines += ["**Resource and trust policies**", ""]
        lines += _md_table(_RESOURCE_HEADERS, [_statement_cells(c, True) for c in resource])
    for category in security.CATEGORIES:
        found = report.in_category(category)
        if found:
            lines += [f"**{category}**", ""]
            for f in found:
                mark = f"`{f.sign}`" + (" :warning:" if f.widens else "")
                lines.append(f"- {mark} `{f.owner}`: {_code(f.text)}")
            lines.append("")
    reasons = widens_access(plan)
    if reasons:
        lines += [f"**{WIDENS_MARK} Widens access:**", ""]
        lines += [f"- {_code(reason)}" for reason in reasons]
        lines.append("")
    return lines


# ------------------------------------------------------------------------------ the plan


def _text_values(plan: Plan, change: Change) -> list[str]:
    """The change's properties under its row: ``MemorySize: 256 → 512``, diffs indented."""
    lines = []
    for value in plan.lines_for(change):
        lines.append(f"      {value.headline()}")
        lines.extend(f"        {diff}" for diff in value.diff)
        if value.elided:
            lines.append(f"        {_ELIDED}")
    added = plan.added_properties(change)
    for name, value in (added or {}).items():
        lines.append(f"      {name}: {security.short_value(value)}")
    lines.extend(f"      {line}" for line in _drift_marks(plan, change))
    return lines


# Where a policy document's unchanged lines are, when the terminal leaves them out.
_ELIDED = "(other lines of this policy not shown; the Markdown plan (--markdown FILE) has it whole)"


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
    first = widening_line(plan)
    lines = [first] if first else []
    lines += [*security_text(plan), _title(plan)]
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
        diff = value.whole or value.diff
        if diff:
            lines += ["", "  ```diff", *(f"  {d}" for d in diff), "  ```", ""]
    lines.extend(f"- :warning: {line}" for line in drift)
    lines += ["", "</details>", ""]
    return lines


def _markdown_added(plan: Plan, change: Change) -> list[str]:
    """An added resource's properties, whole, in one folded block."""
    properties = plan.added_properties(change)
    if not properties:
        return []
    count = f"{len(properties)} propert{'y' if len(properties) == 1 else 'ies'}"
    body = json.dumps(properties, indent=2, sort_keys=True, ensure_ascii=False)
    fence = "````" if "```" in body else "```"
    return [
        "<details>",
        f"<summary><code>{change.logical_id}</code> {change.resource_type}: Add, {count}</summary>",
        "",
        f"{fence}json",
        *body.splitlines(),
        fence,
        "",
        "</details>",
        "",
    ]


def render_markdown(plan: Plan) -> str:
    """The same plan as GitHub-flavoured Markdown, for pull-request comments and job summaries."""
    first = widening_line(plan, markdown=True)
    lines = [first, ""] if first else []
    lines += [*security_markdown(plan), f"### {_title(plan)}", ""]
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
        lines.extend(_markdown_added(plan, change))
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
    widened = widens_access(plan)
    note = (
        f"\n{WIDENS_MARK} **Widened access:** {_some_reasons(widened, True)}\n" if widened else ""
    )
    return (
        f"{_outcome_title(plan.environment, plan.stack_name)}\n\n"
        f":white_check_mark: **Applied** change set `{plan.change_set.name}`: {status}.\n\n"
        f"**Applied:** {summary(plan)}\n{note}"
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
