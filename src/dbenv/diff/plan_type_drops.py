"""Drop the target's types and domains the source lacks, dependants first.

A domain over an enum, a composite type with a domain attribute, a range over a
composite: each must go before the type it is built on, whatever their kinds.
"""

from __future__ import annotations

import re

from dbenv.diff.builder import Builder, Phase
from dbenv.diff.model import CompositeType, Domain, Enum, RangeType

TypeLike = Enum | CompositeType | RangeType | Domain


def drop_types(b: Builder) -> None:
    gone: dict[str, TypeLike] = {}
    for key, kind in b.target.types.items():
        if key not in b.source.types:
            gone[kind.qualified] = kind
    for key, dom in b.target.domains.items():
        if key not in b.source.domains:
            gone[dom.qualified] = dom
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:  # what ``name`` is built on comes first
        if name in seen:
            return
        seen.add(name)
        for used in _built_on(gone[name]):
            if used in gone:
                visit(used)
        order.append(name)

    for name in sorted(gone):
        visit(name)
    for name in reversed(order):
        obj = gone[name]
        word = "DOMAIN" if isinstance(obj, Domain) else "TYPE"
        b.add(Phase.DROP_TYPES, f"DROP {word} {obj.qualified}", action="drop", target=obj.key)


def _bare(dtype: str) -> str:
    return dtype.split(" COLLATE ")[0].removesuffix("[]")


def _built_on(obj: TypeLike) -> list[str]:
    if isinstance(obj, Domain):
        return [_bare(obj.base_type)]
    if isinstance(obj, CompositeType):
        return [_bare(dtype) for _, dtype in obj.attributes]
    if isinstance(obj, RangeType):
        found = re.match(r"subtype = ([^,]+)", obj.options)
        return [_bare(found.group(1))] if found else []
    return []
