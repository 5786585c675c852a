"""What a change set does to access, as a reviewer signs it: IAM statements added and removed,
resource-policy principals, permissions boundaries, public access, and whether it widens access.

Like ``cdk diff``'s security table (and ``cdk deploy --require-approval broadening``), over a
change set rather than two templates. For each resource change:

- an added resource: its properties in the template being planned;
- a modified one: the template's properties after the change, and before it the same properties
  with every changed path put back to CloudFormation's ``BeforeValue`` (``DescribeChangeSet`` with
  ``IncludePropertyValues``). A changed path whose previous value was not sent makes that property
  *not known*, which counts as widening: an approver is never told "nothing widens" on a guess;
- a removed one: the change set holds no properties, so it is named, not itemised.

Statements are compared as sets per policy document (order-insensitive; ``Sid`` does not count; a
changed statement is one removed and one added). Intrinsic functions are shown as CloudFormation
would substitute them (``${Bucket}``, ``${Role.Arn}``, a ``Fn::Sub`` string as written) and never
evaluated. Pure: no AWS, no I/O.

**Widening access** (see docs/plans.md): an added Allow statement (identity, resource, trust or
boundary policy) that no Allow statement of the same resource granted before (actions, resources
and principals matched with IAM's ``*``/``?`` wildcards, conditions no looser); a removed Deny that
no remaining Deny covers; a new principal in a resource or trust policy; a managed policy attached,
or a policy attached to another role, user or group; a permissions boundary removed or replaced;
public access loosened (an S3 public-access-block setting turned off, a public canned ACL, ACLs
re-enabled, a Lambda function URL without auth, an Allow to ``*``); a removed resource policy
(its Deny statements go with it); anything security-relevant whose values are not known.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator import naming
from generator.deploy.changeset import Change, PropertyChange

_PROPERTIES = "/Properties/"
_DYNAMIC_REFERENCE = "{{resolve:"
REDACTED_DYNAMIC = "(redacted: dynamic reference)"
# Every boundary of the app stack is named so (generator.naming.boundary_policy_name).
_BOUNDARY_PREFIX = naming.boundary_policy_name("")

IDENTITY = "identity"  # an identity policy (a role's, a user's, a group's, a managed policy)
BOUNDARY = "boundary"  # a managed policy used as a permissions boundary
RESOURCE = "resource"  # a resource policy (bucket, key, queue, topic, secret, function)
TRUST = "trust"  # a role's trust policy: who may assume it

# Principals that mean anyone (AWS treats {"AWS": "*"} as "*").
PUBLIC_PRINCIPALS = ("*", "AWS:*")

# Roles, users and groups: inline policies, managed policy ARNs, a boundary (roles and users).
_HOLDERS = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
_POLICIES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
_ATTACHMENTS = (("Roles", "role"), ("Users", "user"), ("Groups", "group"))
# Resource policies: type -> (the property holding the document, the one naming what it guards).
_RESOURCE_POLICIES: dict[str, tuple[str, str]] = {
    "AWS::S3::BucketPolicy": ("PolicyDocument", "Bucket"),
    "AWS::SQS::QueuePolicy": ("PolicyDocument", "Queues"),
    "AWS::SQS::QueueInlinePolicy": ("PolicyDocument", "Queue"),
    "AWS::SNS::TopicPolicy": ("PolicyDocument", "Topics"),
    "AWS::SNS::TopicInlinePolicy": ("PolicyDocument", "TopicArn"),
    "AWS::KMS::Key": ("KeyPolicy", ""),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy", "SecretId"),
    "AWS::Logs::ResourcePolicy": ("PolicyDocument", ""),
    "AWS::ECR::Repository": ("RepositoryPolicyText", ""),
}
_LAMBDA_PERMISSION = "AWS::Lambda::Permission"
_LAMBDA_PERMISSION_PROPERTIES = (
    "Action", "Principal", "FunctionName", "SourceArn", "SourceAccount", "PrincipalOrgID",
    "FunctionUrlAuthType", "EventSourceToken",
)  # fmt: skip
_BUCKET = "AWS::S3::Bucket"
_FUNCTION_URL = "AWS::Lambda::Url"
_PUBLIC_BLOCK = "PublicAccessBlockConfiguration"
_PUBLIC_BLOCK_SETTINGS = (
    "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets",
)  # fmt: skip
_PUBLIC_ACLS = ("PublicRead", "PublicReadWrite", "AuthenticatedRead")
_ACLS_DISABLED = "BucketOwnerEnforced"
# A removed resource of these types takes its Deny statements with it (the change set does not say
# what they were): widening, until proven otherwise.
_REMOVAL_WIDENS = frozenset(t for t in _RESOURCE_POLICIES if t != "AWS::KMS::Key")


# ------------------------------------------------------------------------ readable values


def readable(value: Any) -> str:
    """A template value as a reviewer reads it: intrinsic functions as CloudFormation writes
    substitutions (``${Bucket}``, ``${Role.Arn}``), a ``Fn::Sub`` string as written, other
    functions as ``Name(arguments)``; never evaluated, never an error."""
    text = _readable(value)
    return REDACTED_DYNAMIC if _DYNAMIC_REFERENCE in text else text


def _readable(value: Any) -> str:  # noqa: PLR0911 - one return per shape of value
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        function = _intrinsic(value)
        if function is not None:
            return function
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "{" + ", ".join(f"{key}: {_readable(v)}" for key, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_readable(v) for v in value) + "]"
    return str(value)


def _intrinsic(value: Mapping[str, Any]) -> str | None:  # noqa: PLR0911 - one per function
    """An intrinsic function as text (None when the mapping is not one)."""
    if len(value) != 1:
        return None
    name, argument = next(iter(value.items()))
    if name == "Ref":
        return f"${{{_readable(argument)}}}"
    if name == "Fn::GetAtt":
        parts = argument if isinstance(argument, list) else [argument]
        return "${" + ".".join(_readable(p) for p in parts) + "}"
    if name == "Fn::Sub":
        if isinstance(argument, str):
            return argument
        if isinstance(argument, list) and argument and isinstance(argument[0], str):
            text = argument[0]
            variables = argument[1] if len(argument) > 1 else {}
            if isinstance(variables, Mapping):
                for key, sub in variables.items():
                    text = text.replace(f"${{{key}}}", _readable(sub))
            return text
    if name == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        separator, parts = argument
        if isinstance(parts, list):
            return _readable(separator).join(_readable(p) for p in parts)
    if isinstance(name, str) and name.startswith("Fn::"):
        arguments = argument if isinstance(argument, list) else [argument]
        return f"{name[4:]}({', '.join(_readable(a) for a in arguments)})"
    return None


def _is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and len(value) == 1
        and str(next(iter(value))).startswith(("Fn::", "Ref"))
    )


def _items(value: Any) -> list[Any]:
    """A value that IAM accepts as one or a list, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _expand(value: Any) -> Any:
    """A policy document given as JSON text (or a ``Fn::Sub`` of JSON text) as a structure."""
    text = value
    if isinstance(value, Mapping) and set(value) == {"Fn::Sub"}:
        text = readable(value)
    if isinstance(text, str) and text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return value
    return value


# --------------------------------------------------------------------------- statements


Condition = tuple[str, str, tuple[str, ...]]  # (operator, key, values)


@dataclass(frozen=True)
class Statement:
    """One policy statement, normalised: lists sorted, intrinsic functions readable."""

    effect: str
    principals: tuple[str, ...] = ()  # "*", "AWS:arn...", "Service:lambda.amazonaws.com"
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    sid: str = ""
    not_principal: bool = False
    not_action: bool = False
    not_resource: bool = False
    opaque: str = ""  # a statement that is not a plain object (e.g. a Fn::If), as written

    @property
    def key(self) -> tuple[Any, ...]:
        """What the statement grants or denies: equal keys are the same statement (no Sid)."""
        return (
            self.effect,
            self.principals,
            tuple(sorted(a.lower() for a in self.actions)),
            self.resources,
            self.conditions,
            self.not_principal,
            self.not_action,
            self.not_resource,
            self.opaque,
        )

    @property
    def public(self) -> bool:
        """An Allow to anyone."""
        return (
            self.effect == "Allow"
            and not self.not_principal
            and any(p in PUBLIC_PRINCIPALS for p in self.principals)
        )

    def principal_cell(self) -> tuple[str, ...]:
        """Principals as shown (``NOT ...`` for NotPrincipal); likewise the cells below."""
        return _negated(self.principals, self.not_principal)

    def action_cell(self) -> tuple[str, ...]:
        """Actions as shown."""
        return _negated(self.actions, self.not_action)

    def resource_cell(self) -> tuple[str, ...]:
        """Resources as shown."""
        return _negated(self.resources, self.not_resource)

    def condition_cell(self) -> tuple[str, ...]:
        """One ``Operator key: values`` line per condition test."""
        return tuple(f"{op} {key}: {', '.join(values)}" for op, key, values in self.conditions)


def _negated(values: tuple[str, ...], negated: bool) -> tuple[str, ...]:
    return tuple(f"NOT {v}" for v in values) if negated else values


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(sorted({readable(v) for v in _items(value)}))


def _principals(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping) and not _is_intrinsic(value):
        found = {f"{kind}:{readable(one)}" for kind, ids in value.items() for one in _items(ids)}
        return tuple(sorted(found))
    return _strings(value)


def _conditions(value: Any) -> tuple[Condition, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping) or _is_intrinsic(value):
        return (("", "", (readable(value),)),)
    found: list[Condition] = []
    for operator, tests in value.items():
        if isinstance(tests, Mapping) and not _is_intrinsic(tests):
            found.extend((str(operator), str(key), _strings(v)) for key, v in tests.items())
        else:
            found.append((str(operator), "", (readable(tests),)))
    return tuple(sorted(found))


def parse_statement(raw: Any) -> Statement:
    """One statement of a policy document (anything but an object stays opaque, as written)."""
    if not isinstance(raw, Mapping) or _is_intrinsic(raw):
        return Statement(effect="?", opaque=readable(raw))
    return Statement(
        effect=readable(raw.get("Effect", "?")),
        principals=_principals(raw.get("Principal", raw.get("NotPrincipal"))),
        actions=_strings(raw.get("Action", raw.get("NotAction"))),
        resources=_strings(raw.get("Resource", raw.get("NotResource"))),
        conditions=_conditions(raw.get("Condition")),
        sid=readable(raw.get("Sid", "")),
        not_principal="NotPrincipal" in raw,
        not_action="NotAction" in raw,
        not_resource="NotResource" in raw,
    )


def parse_document(value: Any) -> tuple[Statement, ...]:
    """A policy document's statements, each once (an unreadable document is one opaque one)."""
    document = _expand(value)
    if document is None or document == {}:
        return ()
    if isinstance(document, Mapping) and "Statement" in document:
        raw = _expand(document["Statement"])
        statements = [parse_statement(s) for s in _items(raw)]
    else:
        statements = [Statement(effect="?", opaque=readable(document))]
    unique: dict[tuple[Any, ...], Statement] = {}
    for statement in statements:
        unique.setdefault(statement.key, statement)
    return tuple(unique.values())


def _pattern(text: str) -> re.Pattern[str]:
    """IAM's wildcards (``*``, ``?``) as a regular expression; everything else literal."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _matched(small: Iterable[str], big: Iterable[str]) -> bool:
    """Whether every value of ``small`` is matched by a pattern of ``big``."""
    patterns = [_pattern(b) for b in big]
    return all(any(p.fullmatch(s) for p in patterns) for s in small)


def covers(big: Statement, small: Statement) -> bool:
    """Whether ``big`` grants (or denies) at least everything ``small`` does."""
    if big.key == small.key:
        return True
    if big.opaque or small.opaque or big.effect != small.effect:
        return False
    negations = (big.not_principal, big.not_action, big.not_resource)
    if any(negations) or any((small.not_principal, small.not_action, small.not_resource)):
        return False
    if bool(big.principals) != bool(small.principals):
        return False
    if not (
        _matched(small.principals, big.principals)
        and _matched(small.actions, big.actions)
        and _matched(small.resources, big.resources)
    ):
        return False
    # Every condition of ``big`` must hold wherever ``small`` applies: ``small`` carries the same
    # test with values among ``big``'s (a condition's values are alternatives).
    tests = {(op, key): set(values) for op, key, values in small.conditions}
    return all(
        (op, key) in tests and tests[(op, key)] <= set(values) for op, key, values in big.conditions
    )


# ----------------------------------------------------------------------- what changed


@dataclass(frozen=True)
class StatementChange:
    """A statement added (``+``) to or removed (``-``) from one policy document."""

    sign: str
    owner: str  # the logical id holding the document
    where: str  # "" (the resource's one document), "inline NAME", "trust policy", ...
    kind: str  # IDENTITY | BOUNDARY | RESOURCE | TRUST
    statement: Statement
    widens: str = ""  # why this widens access ("" when it does not)

    @property
    def policy(self) -> str:
        """The owner and the document, as the table's first column."""
        return f"{self.owner} ({self.where})" if self.where else self.owner


@dataclass(frozen=True)
class Finding:
    """Any other security change: a principal, a boundary, public access, an attachment."""

    category: str  # one of CATEGORIES
    sign: str  # + | - | ~
    owner: str
    text: str
    widens: str = ""


PRINCIPALS = "Resource-policy principals"
BOUNDARIES = "Permissions boundaries"
PUBLIC = "Public access"
ATTACHED = "Managed policies and attachments"
UNKNOWN = "Not known from the change set"
CATEGORIES = (PRINCIPALS, BOUNDARIES, PUBLIC, ATTACHED, UNKNOWN)


@dataclass(frozen=True)
class SecurityReport:
    """Every security change of a plan, and whether it widens access."""

    statements: tuple[StatementChange, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing changes access."""
        return not self.statements and not self.findings

    def identity_statements(self) -> tuple[StatementChange, ...]:
        """Rows of identity and boundary policies (no principal column)."""
        return tuple(s for s in self.statements if s.kind in (IDENTITY, BOUNDARY))

    def resource_statements(self) -> tuple[StatementChange, ...]:
        """Rows of resource and trust policies (with their principals)."""
        return tuple(s for s in self.statements if s.kind in (RESOURCE, TRUST))

    def in_category(self, category: str) -> tuple[Finding, ...]:
        """The findings of one of ``CATEGORIES``."""
        return tuple(f for f in self.findings if f.category == category)

    @property
    def widening(self) -> tuple[str, ...]:
        """Why the change widens access, one reason per change (empty: it does not)."""
        reasons = [f"{s.owner}: {s.widens}" for s in self.statements if s.widens]
        reasons += [f"{f.owner}: {f.widens}" for f in self.findings if f.widens]
        return tuple(dict.fromkeys(reasons))

    def counts(self) -> str:
        """``2 IAM statements (1 added, 1 removed), public access: 1`` ..."""
        parts = []
        if self.statements:
            added = sum(1 for s in self.statements if s.sign == "+")
            removed = len(self.statements) - added
            noun = "statement" if len(self.statements) == 1 else "statements"
            parts.append(f"{len(self.statements)} IAM {noun} ({added} added, {removed} removed)")
        parts += [
            f"{category[0].lower()}{category[1:]}: {len(self.in_category(category))}"
            for category in CATEGORIES
            if self.in_category(category)
        ]
        return ", ".join(parts) or "none"


# ------------------------------------------------------------------- properties per side


@dataclass(frozen=True)
class Sides:
    """A resource's properties before and after the change (None: not known at all), and the
    names of properties whose previous value the change set did not send."""

    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    unknown: frozenset[str] = frozenset()


def _value(text: str) -> Any:
    """A BeforeValue as a structure when it is JSON (CloudFormation sends objects as JSON)."""
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _property_name(detail: PropertyChange) -> str:
    if detail.path.startswith(_PROPERTIES):
        return detail.path[len(_PROPERTIES) :].split("/", 1)[0]
    return detail.name


def _parts(detail: PropertyChange) -> list[str]:
    return detail.path[len(_PROPERTIES) :].split("/")


def _step(node: Any, part: str) -> Any:
    if isinstance(node, list):
        return node[int(part)]
    return node[part]


def _put(root: dict[str, Any], parts: Sequence[str], value: Any, *, insert: bool) -> None:
    node: Any = root
    for part in parts[:-1]:
        node = _step(node, part)
    last = parts[-1]
    if isinstance(node, list):
        if insert:
            node.insert(int(last), value)
        else:
            node[int(last)] = value
    else:
        node[last] = value


def _drop(root: dict[str, Any], parts: Sequence[str]) -> None:
    node: Any = root
    for part in parts[:-1]:
        node = _step(node, part)
    last = parts[-1]
    if isinstance(node, list):
        del node[int(last)]
    else:
        del node[last]


def _index_key(parts: Sequence[str]) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in parts)


def _edit(detail: PropertyChange) -> tuple[str, Any]:
    """What putting a detail back takes: ("skip"|"unknown"|"drop"|"set"|"insert", value)."""
    no_values = detail.before_value is None and detail.after_value is None
    if no_values and detail.change_source in ("ResourceReference", "ParameterReference"):
        return "skip", None  # as written, the same (a replaced resource's new ARN)
    if not detail.path.startswith(_PROPERTIES):
        return "unknown", None
    kind = detail.attribute_change_type
    if not kind and detail.before_value is None and detail.after_value is not None:
        kind = "Add"
    if kind == "Add":
        return "drop", None
    if detail.before_value is None:
        return "unknown", None
    return ("insert" if kind == "Remove" else "set"), _value(detail.before_value)


def before_properties(change: Change, after: Mapping[str, Any]) -> Sides:
    """The properties before a modification: ``after`` with each changed path put back to its
    BeforeValue. Paths CloudFormation reports only as a reference (a replaced resource's new
    ARN, no values) are the same as written; a changed path without a previous value is unknown.
    """
    before: dict[str, Any] = copy.deepcopy(dict(after))
    unknown: set[str] = set()
    edits: dict[str, list[tuple[list[str], Any]]] = {"set": [], "drop": [], "insert": []}
    details = [d for d in change.details if d.attribute == "Properties"]
    for detail in details:
        action, value = _edit(detail)
        if action == "unknown":
            unknown.add(_property_name(detail))
        elif action != "skip":
            edits[action].append((_parts(detail), value))
    try:
        for parts, value in edits["set"]:
            _put(before, parts, value, insert=False)
        # Removing and inserting list items from the end and from the start keeps indexes true.
        for parts, _ in sorted(edits["drop"], key=lambda e: _index_key(e[0]), reverse=True):
            _drop(before, parts)
        for parts, value in sorted(edits["insert"], key=lambda e: _index_key(e[0])):
            _put(before, parts, value, insert=True)
    except (KeyError, IndexError, ValueError, TypeError):
        # The template and the change set disagree on a path's shape: say so, guess nothing.
        unknown.update(_property_name(d) for d in details)
    return Sides(before, after, frozenset(unknown))


def _template_properties(template: Mapping[str, Any] | None, logical_id: str) -> Any:
    resources = (template or {}).get("Resources") or {}
    resource = resources.get(logical_id) if isinstance(resources, Mapping) else None
    if not isinstance(resource, Mapping):
        return None
    properties = resource.get("Properties") or {}
    return properties if isinstance(properties, Mapping) else None


def sides(change: Change, template: Mapping[str, Any] | None) -> Sides:
    """Where the properties of each side come from (see the module's docstring)."""
    properties = _template_properties(template, change.logical_id)
    if change.action == "Add":
        return Sides({}, properties)
    if change.action == "Remove":
        return Sides(None, {})
    if properties is None:
        # Not in the planned template (a plan made without it): only whole-property values.
        properties = {}
        for detail in change.details:
            if detail.path.count("/") == 2 and detail.after_value is not None:
                properties[_property_name(detail)] = _value(detail.after_value)
    return before_properties(change, properties)


# ----------------------------------------------------------------------------- facets


@dataclass(frozen=True)
class Document:
    """One policy document of a resource."""

    where: str
    kind: str
    statements: tuple[Statement, ...]
    reads: tuple[str, ...]  # the properties it is made from


def _documents(resource_type: str, props: Mapping[str, Any], boundary: bool) -> list[Document]:
    found: list[Document] = []
    if resource_type in _HOLDERS:
        for policy in _items(props.get("Policies")):
            if isinstance(policy, Mapping) and not _is_intrinsic(policy):
                name = readable(policy.get("PolicyName", "?"))
                statements = parse_document(policy.get("PolicyDocument"))
            else:
                name, statements = "?", (Statement(effect="?", opaque=readable(policy)),)
            found.append(Document(f"inline {name}", IDENTITY, statements, ("Policies",)))
        if resource_type == "AWS::IAM::Role":
            trust = parse_document(props.get("AssumeRolePolicyDocument"))
            found.append(Document("trust policy", TRUST, trust, ("AssumeRolePolicyDocument",)))
    elif resource_type in _POLICIES:
        kind = BOUNDARY if boundary else IDENTITY
        statements = parse_document(props.get("PolicyDocument"))
        found.append(
            Document("boundary" if boundary else "", kind, statements, ("PolicyDocument",))
        )
    elif resource_type in _RESOURCE_POLICIES:
        name, _ = _RESOURCE_POLICIES[resource_type]
        found.append(Document("", RESOURCE, parse_document(props.get(name)), (name,)))
    elif resource_type == _LAMBDA_PERMISSION:
        found.append(Document("", RESOURCE, _permission(props), _LAMBDA_PERMISSION_PROPERTIES))
    return found


def _permission(props: Mapping[str, Any]) -> tuple[Statement, ...]:
    """A Lambda permission as the statement it adds to the function's resource policy."""
    if not props:
        return ()
    principal = readable(props.get("Principal", "?"))
    if principal != "*":
        kind = "Service" if principal.endswith(".amazonaws.com") else "AWS"
        principal = f"{kind}:{principal}"
    conditions: dict[str, dict[str, Any]] = {}
    tests = (
        ("SourceArn", "ArnLike", "AWS:SourceArn"),
        ("SourceAccount", "StringEquals", "AWS:SourceAccount"),
        ("PrincipalOrgID", "StringEquals", "aws:PrincipalOrgID"),
        ("FunctionUrlAuthType", "StringEquals", "lambda:FunctionUrlAuthType"),
        ("EventSourceToken", "StringEquals", "lambda:EventSourceToken"),
    )
    for prop, operator, key in tests:
        if prop in props:
            conditions.setdefault(operator, {})[key] = props[prop]
    return (
        Statement(
            effect="Allow",
            principals=(principal,),
            actions=_strings(props.get("Action")),
            resources=_strings(props.get("FunctionName")),
            conditions=_conditions(conditions or None),
        ),
    )


def _guarded(resource_type: str, props: Mapping[str, Any]) -> str:
    """What a resource policy guards, for the table (``${DataBucket}``)."""
    if resource_type == _LAMBDA_PERMISSION:
        return readable(props.get("FunctionName", ""))
    _, name = _RESOURCE_POLICIES.get(resource_type, ("", ""))
    return ", ".join(readable(v) for v in _items(props.get(name))) if name else ""


def _attachments(props: Mapping[str, Any]) -> set[str]:
    return {f"{noun} {readable(v)}" for prop, noun in _ATTACHMENTS for v in _items(props.get(prop))}


def _public_settings(resource_type: str, props: Mapping[str, Any]) -> dict[str, str]:
    """The settings that open a resource to the public, as text (absent: not set)."""
    found: dict[str, str] = {}
    if resource_type == _BUCKET:
        block = props.get(_PUBLIC_BLOCK)
        if isinstance(block, Mapping):
            for name in _PUBLIC_BLOCK_SETTINGS:
                found[f"{_PUBLIC_BLOCK}.{name}"] = readable(block.get(name, False)).lower()
        if "AccessControl" in props:
            found["AccessControl"] = readable(props["AccessControl"])
        controls = props.get("OwnershipControls")
        rules = controls.get("Rules") if isinstance(controls, Mapping) else None
        owners = [
            readable(r.get("ObjectOwnership")) for r in _items(rules) if isinstance(r, Mapping)
        ]
        if owners:
            found["OwnershipControls.ObjectOwnership"] = ", ".join(owners)
    elif resource_type == _FUNCTION_URL and "AuthType" in props:
        found["AuthType"] = readable(props["AuthType"])
    return found


_HOLDER_READS = ("Policies", "AssumeRolePolicyDocument", "ManagedPolicyArns", "PermissionsBoundary")
_READS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(_HOLDERS, _HOLDER_READS),
    **dict.fromkeys(_POLICIES, ("PolicyDocument", "Roles", "Users", "Groups")),
    **{t: (prop,) for t, (prop, _) in _RESOURCE_POLICIES.items()},
    _LAMBDA_PERMISSION: _LAMBDA_PERMISSION_PROPERTIES,
    _BUCKET: (_PUBLIC_BLOCK, "AccessControl", "OwnershipControls"),
    _FUNCTION_URL: ("AuthType",),
}  # fmt: skip


def relevant(resource_type: str) -> bool:
    """Whether changes to this type can change access."""
    return resource_type in _READS


def is_boundary_policy(props: Mapping[str, Any] | None, referenced: frozenset[str]) -> bool:
    """A managed policy used as a permissions boundary: named as this project names them, or
    referenced by a role's ``PermissionsBoundary`` in the template (by name or logical id)."""
    name = readable((props or {}).get("ManagedPolicyName", ""))
    return bool(name) and (name.startswith(_BOUNDARY_PREFIX) or name in referenced)


def boundary_references(template: Mapping[str, Any] | None) -> frozenset[str]:
    """The policy names and logical ids that roles of the template use as boundaries."""
    found: set[str] = set()
    resources = (template or {}).get("Resources") or {}
    for resource in resources.values() if isinstance(resources, Mapping) else ():
        props = resource.get("Properties") if isinstance(resource, Mapping) else None
        if not isinstance(props, Mapping) or "PermissionsBoundary" not in props:
            continue
        text = readable(props["PermissionsBoundary"])
        found.add(text.rsplit(":policy/", 1)[-1].rsplit("/", 1)[-1])
        if text.startswith("${") and text.endswith("}"):
            found.add(text[2:-1])
    return frozenset(found)


# --------------------------------------------------------------------------- the analysis


def _summary(statement: Statement) -> str:
    actions = ", ".join(statement.action_cell()) or statement.opaque or "?"
    if len(statement.actions) > 3:
        actions = f"{', '.join(statement.action_cell()[:3])} (+{len(statement.actions) - 3})"
    text = f"{statement.effect} {actions}"
    if statement.resources:
        resources = statement.resource_cell()
        more = f" (+{len(resources) - 1})" if len(resources) > 1 else ""
        text += f" on {resources[0]}{more}"
    if statement.principals:
        text += f" to {', '.join(statement.principal_cell())}"
    return text


def _statement_changes(
    owner: str, before: list[Document], after: list[Document], guarded: str = ""
) -> list[StatementChange]:
    """Statements added and removed per document; widening judged over the whole resource
    (``guarded``: what a resource policy protects, named where its document has no name)."""
    changes: list[StatementChange] = []
    old_all = [(d.kind, s) for d in before for s in d.statements]
    new_all = [(d.kind, s) for d in after for s in d.statements]
    old_docs = {d.where: d for d in before}
    new_docs = {d.where: d for d in after}
    for where in dict.fromkeys([*old_docs, *new_docs]):
        old = old_docs.get(where)
        new = new_docs.get(where)
        kind = (new or old_docs[where]).kind
        old_keys = {s.key: s for s in (old.statements if old else ())}
        new_keys = {s.key: s for s in (new.statements if new else ())}
        for key, statement in old_keys.items():
            if key in new_keys:
                continue
            widens = ""
            if statement.opaque:
                widens = f"removed a statement that cannot be read ({statement.opaque})"
            elif statement.effect == "Deny" and not any(
                k == kind and covers(s, statement) for k, s in new_all
            ):
                widens = f"removed {_summary(statement)}"
            changes.append(StatementChange("-", owner, where or guarded, kind, statement, widens))
        for key, statement in new_keys.items():
            if key in old_keys:
                continue
            widens = ""
            if statement.opaque or statement.effect not in ("Allow", "Deny"):
                widens = f"added a statement that cannot be read ({statement.opaque or '?'})"
            elif statement.effect == "Allow" and not any(
                k == kind and covers(s, statement) for k, s in old_all
            ):
                label = "boundary now allows" if kind == BOUNDARY else "new"
                widens = f"{label} {_summary(statement)}"
            changes.append(StatementChange("+", owner, where or guarded, kind, statement, widens))
    return changes


def _principal_findings(
    owner: str, guarded: str, before: list[Document], after: list[Document]
) -> list[Finding]:
    def allowed(documents: list[Document]) -> dict[str, str]:
        return {
            p: d.where
            for d in documents
            if d.kind in (RESOURCE, TRUST)
            for s in d.statements
            if s.effect == "Allow" and not s.not_principal
            for p in s.principals
        }

    old, new = allowed(before), allowed(after)
    label = owner if not guarded else f"{owner} (on {guarded})"
    findings = []
    for principal, where in new.items():
        if principal in old:
            continue
        text = f"{principal} may now {'assume it' if where == 'trust policy' else 'access it'}"
        widens = "" if _matched([principal], old) else f"new principal {principal}"
        findings.append(Finding(PRINCIPALS, "+", label, text, widens))
    for principal, where in old.items():
        if principal not in new:
            text = (
                f"{principal} no longer {'assumes it' if where == 'trust policy' else 'has access'}"
            )
            findings.append(Finding(PRINCIPALS, "-", label, text))
    old_public = {s.key for d in before for s in d.statements if s.public}
    for statement in (s for d in after for s in d.statements):
        if statement.public and statement.key not in old_public:
            scope = ", ".join(statement.condition_cell()) or "no condition"
            text = f"Allow {', '.join(statement.actions)} to anyone ({scope})"
            findings.append(Finding(PUBLIC, "+", label, text, "allows anyone (Principal *)"))
    return findings


def _public_findings(
    owner: str, before: Mapping[str, str], after: Mapping[str, str]
) -> list[Finding]:
    findings = []
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        widens = ""
        if name.startswith(_PUBLIC_BLOCK):
            if old == "true" and new != "true":
                widens = f"public access block loosened ({name.split('.', 1)[1]} off)"
            elif old is None and new == "false":
                widens = f"{name.split('.', 1)[1]} explicitly off"
        elif name == "AccessControl" and new in _PUBLIC_ACLS:
            widens = f"public canned ACL {new}"
        elif name.startswith("OwnershipControls") and old == _ACLS_DISABLED:
            widens = f"ACLs enabled again (ObjectOwnership {new or 'not set'})"
        elif name == "AuthType" and new == "NONE":
            widens = "function URL without authentication (AuthType NONE)"
        text = f"{name}: {_or_none(old)} → {_or_none(new)}"
        findings.append(Finding(PUBLIC, "~", owner, text, widens))
    return findings


def _or_none(value: str | None) -> str:
    return "(none)" if value is None else value


def _set_findings(
    category: str, owner: str, noun: str, old: set[str], new: set[str], widen: str
) -> list[Finding]:
    findings = [
        Finding(category, "+", owner, f"{noun} {v}", f"{widen} {v}") for v in sorted(new - old)
    ]
    findings += [Finding(category, "-", owner, f"{noun} {v}") for v in sorted(old - new)]
    return findings


def _boundary_findings(owner: str, old: Any, new: Any) -> list[Finding]:
    before = readable(old) if old is not None else None
    after = readable(new) if new is not None else None
    if before == after:
        return []
    if after is None:
        return [Finding(BOUNDARIES, "-", owner, f"boundary removed (was {before})",
                        "permissions boundary removed")]  # fmt: skip
    if before is None:
        return [Finding(BOUNDARIES, "+", owner, f"boundary set: {after}")]
    return [Finding(BOUNDARIES, "~", owner, f"boundary {before} → {after}",
                    f"permissions boundary replaced ({before} → {after})")]  # fmt: skip


def _analyze_change(
    change: Change, template: Mapping[str, Any] | None, references: frozenset[str]
) -> tuple[list[StatementChange], list[Finding]]:
    resource_type, owner = change.resource_type, change.logical_id
    if change.action == "Remove":
        if resource_type in _REMOVAL_WIDENS:
            why = "resource policy removed (any Deny statements go with it)"
            return [], [Finding(UNKNOWN, "-", owner, f"{resource_type} removed", why)]
        if relevant(resource_type):
            text = f"{resource_type} removed (what it granted goes with it)"
            return [], [Finding(ATTACHED, "-", owner, text)]
        return [], []
    found = sides(change, template)
    if found.after is None:
        why = "added, but its properties are not in the planned template"
        return [], [Finding(UNKNOWN, "+", owner, f"{resource_type} {why}", why)]
    after = found.after
    before = found.before if found.before is not None else {}
    reads = _READS[resource_type]
    unknown = sorted(found.unknown & set(reads))
    findings = [
        Finding(UNKNOWN, "~", owner, f"{name} changed; its previous value was not sent",
                f"{name} changed and its previous value is not known")
        for name in unknown
    ]  # fmt: skip
    boundary = resource_type in _POLICIES and (
        is_boundary_policy(after, references) or is_boundary_policy(before, references)
    )
    old_docs = [
        d for d in _documents(resource_type, before, boundary) if not set(d.reads) & set(unknown)
    ]
    new_docs = [
        d for d in _documents(resource_type, after, boundary) if not set(d.reads) & set(unknown)
    ]
    guarded = _guarded(resource_type, after)
    statements = _statement_changes(owner, old_docs, new_docs, f"on {guarded}" if guarded else "")
    if statements:
        findings += _principal_findings(owner, guarded, old_docs, new_docs)
    if resource_type in _HOLDERS:
        old_arns = {readable(v) for v in _items(before.get("ManagedPolicyArns"))}
        new_arns = {readable(v) for v in _items(after.get("ManagedPolicyArns"))}
        if "ManagedPolicyArns" not in unknown:
            findings += _set_findings(ATTACHED, owner, "managed policy", old_arns, new_arns,
                                      "attaches managed policy")  # fmt: skip
        if "PermissionsBoundary" not in unknown:
            findings += _boundary_findings(
                owner, before.get("PermissionsBoundary"), after.get("PermissionsBoundary")
            )
    if (
        resource_type in _POLICIES
        and not boundary
        and not set(unknown) & {"Roles", "Users", "Groups"}
    ):
        findings += _set_findings(ATTACHED, owner, "attached to", _attachments(before),
                                  _attachments(after), "now attached to")  # fmt: skip
    findings += _public_findings(
        owner, _public_settings(resource_type, before), _public_settings(resource_type, after)
    )
    return statements, findings


def analyze(changes: Iterable[Change], template: Mapping[str, Any] | None) -> SecurityReport:
    """The security changes of a change set (``template``: the one being planned)."""
    references = boundary_references(template)
    statements: list[StatementChange] = []
    findings: list[Finding] = []
    for change in changes:
        if not relevant(change.resource_type) or change.action not in ("Add", "Modify", "Remove"):
            continue
        if change.action == "Modify" and not any(
            d.attribute == "Properties" for d in change.details
        ):
            continue  # tags or metadata only
        found_statements, found_findings = _analyze_change(change, template, references)
        statements += found_statements
        findings += found_findings
    order = {"-": 0, "~": 1, "+": 2}
    statements.sort(key=lambda s: (s.owner, s.where, order[s.sign]))
    findings.sort(key=lambda f: (CATEGORIES.index(f.category), f.owner, order[f.sign]))
    return SecurityReport(tuple(statements), tuple(findings))


# ------------------------------------------------------------------ added resources, shown


def short_value(value: Any, limit: int = 80) -> str:
    """A property value in one short line: scalars readable, objects by their keys, lists by
    their length."""
    if isinstance(value, Mapping) and not _is_intrinsic(value):
        keys = ", ".join(str(k) for k in value)
        text = "{" + keys + "}"
    elif isinstance(value, list) and not all(
        isinstance(v, str | int | float) or _is_intrinsic(v) for v in value
    ):
        text = f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
    else:
        text = readable(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
