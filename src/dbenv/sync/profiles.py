"""Sync profiles: parse and validate the project file's ``[sync]`` table.

Configuration accepts ``[sync]`` without looking inside; this module is where its
keys are checked, each error naming the file, line and key. A profile names a
source and a target environment and gives every table one policy — ``mirror``
(structure and data), ``structure`` (structure only) or ``ignore`` — through
``schema.table`` patterns (``public.prompts``, ``project_*.*``), plus optional
``where`` filters and per-column masking rules.

```toml
[sync]
salt = "env:DBENV_MASK_SALT"          # a secret reference, never a literal

[sync.profiles.reference]
source = "production"
target = "test"
mirror = ["public.object_models", "public.prompts", "project_*.*"]
structure = ["public.projects", "public.clients", "public.llm_usage"]
ignore = ["public.audit_log"]
where = { "public.prompts" = "active" }
mask = { "public.clients.email" = "email", "public.*.ip" = "null" }
```
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dbenv.errors import ProjectFileError

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Secret

Policy = Literal["mirror", "structure", "ignore"]
POLICIES: tuple[Policy, ...] = ("mirror", "structure", "ignore")
RULES = ("email", "name", "phone", "hash", "null", "fixed", "sql", "keep")
_PROFILE_KEYS = frozenset({"source", "target", "where", "mask", "description", *POLICIES})
_SYNC_KEYS = frozenset({"salt", "profiles"})


@dataclass(frozen=True)
class Pattern:
    """``schema.table`` (or ``schema.table.column``) with shell wildcards in each part."""

    text: str
    parts: tuple[str, ...]
    within: tuple[Pattern, ...] = ()  # --tables: one of these must match too
    unless: tuple[Pattern, ...] = ()  # --structure-only: none of these may match

    def matches(self, *names: str) -> bool:
        if len(names) != len(self.parts) or not all(
            fnmatch.fnmatchcase(name, part) for name, part in zip(names, self.parts, strict=True)
        ):
            return False
        if self.within and not any(p.matches(*names) for p in self.within):
            return False
        return not any(p.matches(*names) for p in self.unless)


@dataclass(frozen=True)
class MaskRule:
    """How one column is masked: a rule name and, for fixed/sql, its argument."""

    kind: str
    argument: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.argument}" if self.argument is not None else self.kind


@dataclass(frozen=True)
class Profile:
    """One named sync profile, validated."""

    name: str
    source: str | None
    target: str | None
    mirror: tuple[Pattern, ...] = ()
    structure: tuple[Pattern, ...] = ()
    ignore: tuple[Pattern, ...] = ()
    where: Mapping[str, str] = field(default_factory=dict)  # "schema.table" -> condition
    masks: tuple[tuple[Pattern, MaskRule], ...] = ()

    def policy(self, schema: str, table: str) -> Policy | None:
        """The table's policy: ignore wins over mirror, mirror over structure."""
        order: tuple[tuple[Policy, tuple[Pattern, ...]], ...] = (
            ("ignore", self.ignore),
            ("mirror", self.mirror),
            ("structure", self.structure),
        )
        for policy, patterns in order:
            if any(p.matches(schema, table) for p in patterns):
                return policy
        return None

    def rule(self, schema: str, table: str, column: str) -> MaskRule | None:
        """The rule of the most specific pattern naming this column (fewest wildcards)."""
        found = [
            (sum(p.text.count(ch) for ch in "*?["), index, rule)
            for index, (p, rule) in enumerate(self.masks)
            if p.matches(schema, table, column)
        ]
        return min(found)[2] if found else None


@dataclass(frozen=True)
class SyncSettings:
    """The whole ``[sync]`` table: the salt reference and the profiles."""

    salt: Secret | None
    profiles: Mapping[str, Profile]


class _Where:
    """Builds errors that point at ``[sync...]`` keys in the project file."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def error(self, key: tuple[str, ...], problem: str, hint: str) -> ProjectFileError:
        path = ("sync", *key)
        line = self.project.source.lines.line_of(path)
        dotted = ".".join(path)
        return ProjectFileError(
            f"{problem} (key '{dotted}').", hint=hint, path=self.project.path, line=line
        )


def load_settings(project: Project) -> SyncSettings:
    """Validate ``[sync]``: unknown keys, patterns, policies, rules and the salt."""
    where = _Where(project)
    raw = project.sync
    for key in raw:
        if key not in _SYNC_KEYS:
            raise where.error((key,), f"unknown key '{key}' in [sync]", "Allowed: salt, profiles.")
    salt = _salt(project, where, raw.get("salt"))
    profiles_raw = raw.get("profiles", {})
    if not isinstance(profiles_raw, dict):
        raise where.error(
            ("profiles",), "[sync.profiles] must be a table", "Write [sync.profiles.NAME]."
        )
    profiles = {}
    for name, body in profiles_raw.items():
        profiles[name] = _profile(project, where, name, body)
    return SyncSettings(salt, profiles)


def _salt(project: Project, where: _Where, value: object) -> Secret | None:
    if value is None:
        return None
    hint = 'Give a reference, e.g. salt = "env:DBENV_MASK_SALT", so it stays out of the file.'
    if not isinstance(value, str):
        raise where.error(("salt",), "the masking salt must be a string reference", hint)
    secret = project.reference(value, key=("sync", "salt"))
    if secret is None:
        raise where.error(
            ("salt",), "the masking salt is written into the file instead of referenced", hint
        )
    return secret


def _profile(project: Project, where: _Where, name: str, body: object) -> Profile:
    key = ("profiles", name)
    if not isinstance(body, dict):
        raise where.error(
            key, f"sync profile '{name}' must be a table", "Write [sync.profiles.NAME]."
        )
    for item in body:
        if item not in _PROFILE_KEYS:
            raise where.error(
                (*key, item),
                f"unknown key '{item}' in sync profile '{name}'",
                "Allowed: " + ", ".join(sorted(_PROFILE_KEYS)) + ".",
            )
    ends = {}
    for end in ("source", "target"):
        value = body.get(end)
        if value is not None and (
            not isinstance(value, str) or value not in project.environment_names
        ):
            declared = ", ".join(project.environment_names) or "none"
            raise where.error(
                (*key, end),
                f"sync profile '{name}' names {end} '{value}', which is not a declared environment",
                f"Declared environments: {declared}.",
            )
        ends[end] = value
    lists = {
        policy: _patterns(where, (*key, policy), body.get(policy, []), 2) for policy in POLICIES
    }
    return Profile(
        name=name,
        source=ends["source"],
        target=ends["target"],
        where=_where_filters(where, (*key, "where"), body.get("where", {})),
        masks=_masks(where, (*key, "mask"), body.get("mask", {})),
        **lists,
    )


def parse_pattern(text: str, parts: int) -> Pattern | None:
    """``schema.table[.column]``; a bare table name means ``public.<name>``."""
    pieces = text.split(".")
    if len(pieces) == parts - 1:
        pieces = ["public", *pieces]
    if len(pieces) != parts or not all(pieces):
        return None
    return Pattern(text, tuple(pieces))


def _patterns(
    where: _Where, key: tuple[str, ...], value: object, parts: int
) -> tuple[Pattern, ...]:
    shape = "schema.table" if parts == 2 else "schema.table.column"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(
            key,
            f"'{key[-1]}' must be a list of '{shape}' patterns",
            'e.g. ["public.prompts", "project_*.*"].',
        )
    patterns = []
    for text in value:
        pattern = parse_pattern(text, parts)
        if pattern is None:
            raise where.error(
                key,
                f"'{text}' is not a '{shape}' pattern",
                'e.g. "public.prompts" or "project_*.*".',
            )
        patterns.append(pattern)
    return tuple(patterns)


def _where_filters(where: _Where, key: tuple[str, ...], value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise where.error(
            key,
            "'where' must be a table of 'schema.table' = \"condition\"",
            'e.g. where = { "public.prompts" = "active" }.',
        )
    filters = {}
    for table, condition in value.items():
        pattern = parse_pattern(table, 2)
        if pattern is None or "*" in table or "?" in table:
            raise where.error(
                (*key, table),
                f"'where' key '{table}' is not one 'schema.table'",
                "Name one table; patterns are not allowed here.",
            )
        if not isinstance(condition, str) or not condition.strip() or ";" in condition:
            raise where.error(
                (*key, table),
                f"the where condition for '{table}' must be one SQL boolean expression",
                "e.g. \"created_at > now() - interval '30 days'\".",
            )
        filters[".".join(pattern.parts)] = condition.strip()
    return filters


def _masks(
    where: _Where, key: tuple[str, ...], value: object
) -> tuple[tuple[Pattern, MaskRule], ...]:
    if not isinstance(value, dict):
        raise where.error(
            key,
            "'mask' must be a table of 'schema.table.column' = \"rule\"",
            'e.g. mask = { "public.clients.email" = "email" }.',
        )
    masks = []
    for column, text in value.items():
        pattern = parse_pattern(column, 3)
        if pattern is None:
            raise where.error(
                (*key, column),
                f"mask key '{column}' is not a 'schema.table.column' pattern",
                'e.g. "public.clients.email".',
            )
        rule = parse_rule(text)
        if rule is None:
            raise where.error(
                (*key, column),
                f"'{text}' is not a masking rule",
                "Use one of: email, name, phone, hash, null, keep, fixed:VALUE, sql:EXPRESSION.",
            )
        masks.append((pattern, rule))
    return tuple(masks)


def parse_rule(text: object) -> MaskRule | None:
    if not isinstance(text, str):
        return None
    kind, sep, argument = text.partition(":")
    kind = kind.strip().lower()
    if kind not in RULES:
        return None
    if kind in ("fixed", "sql"):
        if not sep or (kind == "sql" and not argument.strip()):
            return None
        return MaskRule(kind, argument)
    return MaskRule(kind) if not sep else None


__all__ = [
    "POLICIES",
    "MaskRule",
    "Pattern",
    "Policy",
    "Profile",
    "SyncSettings",
    "load_settings",
    "parse_pattern",
    "parse_rule",
]
