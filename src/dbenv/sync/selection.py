"""Which tables a sync takes, under which policy, with which masking rules.

The choice is made from the source's catalog before anything is connected on the
target side, together with the checks that need no target: same database,
isolation mode, and masking (a protected source into a disposable target needs a
rule for every personal-looking column, or ``--no-mask`` with the override).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbenv.backends import postgres
from dbenv.errors import GuardRefusal, UsageError
from dbenv.safety.override import names_target
from dbenv.sync import subset
from dbenv.sync.catalog import SKIP_SCHEMAS, TableInfo
from dbenv.sync.masking import MaskedColumn, unmasked_personal
from dbenv.sync.profiles import Profile
from dbenv.sync.results import Options

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Environment

__all__ = [
    "Selection",
    "check_masking",
    "env_url",
    "masking_required",
    "needs_salt",
    "same_database",
    "select",
]


@dataclass
class Selection:
    mirror: list[TableInfo]
    structure: list[TableInfo]
    columns: dict[tuple[str, str], list[MaskedColumn]]
    conditions: dict[tuple[str, str], str]


def env_url(env: Environment) -> str:
    if env.database_url is None:
        raise UsageError(
            f"environment '{env.name}' has no database URL.",
            hint="Set database_url (or its parts) for it in dbenv.toml.",
        )
    if env.isolation != "database":
        raise UsageError(
            f"sync copies whole tables between databases; '{env.name}' uses {env.isolation}"
            " isolation.",
            hint='Sync between environments with isolation = "database".',
        )
    return env.database_url.reveal()


def same_database(a: str, b: str) -> bool:
    pa, pb = postgres.url_parts(a), postgres.url_parts(b)
    keys = ("host", "port", "dbname")
    return all(pa.get(k, "") == pb.get(k, "") for k in keys)


def masking_required(source: Environment, target: Environment) -> bool:
    """Data from a protected environment into a disposable one must be masked."""
    return source.tier == "protected" and target.disposable


def select(
    profile: Profile, tables: Mapping[tuple[str, str], TableInfo], *, masks: bool
) -> Selection:
    """Which tables each policy takes, their columns with rules, and subset conditions."""
    mirror, structure = [], []
    for key, info in sorted(tables.items()):
        if key[0] in SKIP_SCHEMAS:
            continue
        policy = profile.policy(*key)
        if policy == "mirror":
            mirror.append(info)
        elif policy == "structure":
            structure.append(info)
    columns = {
        info.key: [
            MaskedColumn(
                c.name,
                c.data_type,
                c.not_null,
                c.unique,
                profile.rule(info.schema, info.name, c.name) if masks else None,
            )
            for c in info.columns
        ]
        for info in mirror
    }
    chosen = {info.key: info for info in mirror}
    _check_filtered(profile, tables, chosen)
    return Selection(mirror, structure, columns, subset.conditions(chosen, profile.where))


def _check_filtered(
    profile: Profile,
    tables: Mapping[tuple[str, str], TableInfo],
    mirrored: Mapping[tuple[str, str], TableInfo],
) -> None:
    """Every where filter names a table of the source that this sync mirrors."""
    for label in profile.where:
        schema, _, name = label.partition(".")
        if (schema, name) not in tables:
            raise UsageError(
                f"the where filter names '{label}', which is not a table of the source.",
                hint="Check the spelling (schema.table; a bare name means public.<name>).",
            )
        if (schema, name) not in mirrored:
            raise UsageError(
                f"the where filter names '{label}', which this sync does not mirror (only"
                " mirrored tables copy rows to filter).",
                hint="Filter a mirrored table, or add it to the profile's mirror list.",
            )


def check_masking(
    project: Project, source: Environment, target: Environment, chosen: Selection, options: Options
) -> None:
    if not masking_required(source, target):
        return
    target_db = postgres.url_parts(env_url(target)).get("dbname", "")
    if options.no_mask:
        override = options.override or project.override_database
        if not names_target(override, target, target_db):
            raise GuardRefusal(
                f"refused to sync {source.name} -> {target.name} unmasked: data flows from a"
                f" protected environment into a disposable one.",
                check="masking",
                hint=f"--no-mask needs the override naming the target: --i-mean-it={target_db}.",
            )
        return
    missing = unmasked_personal([(t.label, chosen.columns[t.key]) for t in chosen.mirror])
    if missing:
        raise GuardRefusal(
            f"refused to sync {source.name} -> {target.name}: mirrored columns look personal"
            f" and have no masking rule: {', '.join(missing)}.",
            check="masking",
            hint='Add rules under [sync.profiles.NAME.mask] (e.g. "public.clients.email" ='
            ' "email"; "keep" for a column that is not personal).',
        )


def needs_salt(chosen: Selection) -> bool:
    kinds = {"email", "name", "phone", "hash"}
    for cols in chosen.columns.values():
        for col in cols:
            if col.rule is not None and (
                col.rule.kind in kinds or "{salt}" in (col.rule.argument or "")
            ):
                return True
    return False
