"""Whether ``ALTER COLUMN ... TYPE new USING col::new`` has a cast to use.

PostgreSQL refuses the statement outright when no cast leads from the old type to the new
one (``date`` to ``bigint``, ``text[]`` to ``jsonb``), even on an empty table; through
``text`` every type converts (I/O conversion), and the values that parse keep their data.
The casts come from ``pg_cast`` (read once with the model), not from a fixed list, so an
extension's casts (``citext``, ``hstore``) count.
"""

from __future__ import annotations

import re

from dbenv.diff.model import SchemaModel

# I/O conversion: every type casts explicitly to and from the string types.
_STRINGS = frozenset({"text", "character varying", "character", "name"})
_TYPMOD = re.compile(r"\([^)]*\)")


def _base(model: SchemaModel, data_type: str) -> str:
    """The type without its modifier, a domain resolved to the type it is over."""
    name = _TYPMOD.sub("", data_type)
    for _ in range(8):  # domains over domains, bounded
        domain = model.domains.get(f"domain:{name}")
        if domain is None:
            break
        name = _TYPMOD.sub("", domain.base_type)
    return name


def castable(old_model: SchemaModel, new_model: SchemaModel, old: str, new: str) -> bool:
    """Whether an explicit cast from ``old`` (a target type) to ``new`` (a source one) exists."""
    before, after = _base(old_model, old), _base(new_model, new)
    if before.endswith("[]") and after.endswith("[]"):  # arrays cast element by element
        before, after = before[:-2], after[:-2]
    elif before.endswith("[]") or after.endswith("[]"):
        return before in _STRINGS or after in _STRINGS
    if before == after or before in _STRINGS or after in _STRINGS:
        return True
    return (before, after) in old_model.casts or (before, after) in new_model.casts
