"""Data masking for sync: which columns look personal, and the SQL that masks them.

Distinct from ``dbenv.config.masking`` (which hides secrets in output): this masks
*rows* on their way from one environment to another. Every rule becomes a SQL
expression evaluated on the source inside the COPY query, so a personal value
never leaves the source server. Rules are deterministic — the same value and the
same per-project salt always give the same masked value, so joins still match —
and keep uniqueness (a full hash) where the column is unique. The salt reaches the
server as a session setting (``dbenv.mask_salt``) given in the connection's startup
options, never in a statement: a server logging every statement (``log_statement =
all``) logs its parameters too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dbenv.errors import UsageError
from dbenv.sync.profiles import MaskRule

SALT_SETTING = "dbenv.mask_salt"

_PERSONAL = re.compile(
    r"""
    mail
    | ^(first|last|middle|full|given|family|sur|user|display|contact|person|customer|client
        |owner|real|nick|maiden)?_?name$
    | phone | mobile | ^tel$ | telephone | ^fax
    | address | street | ^city$ | zip | postcode | postal
    | (^|_)ip($|_) | ip_?addr | remote_addr
    | ssn | social_security | birth | ^dob$ | passport | iban | credit_card | card_number
    | tax_id | national_id
    """,
    re.VERBOSE,
)

_FIRST = [
    "Avery",
    "Blake",
    "Casey",
    "Dana",
    "Emery",
    "Finley",
    "Gray",
    "Harper",
    "Indigo",
    "Jules",
    "Kai",
    "Lane",
    "Morgan",
    "Noel",
    "Oakley",
    "Parker",
    "Quinn",
    "Reese",
    "Sage",
    "Tatum",
    "Uma",
    "Vale",
    "Wren",
    "Xen",
    "Yael",
    "Zion",
]
_LAST = [
    "Ashdown",
    "Birchwood",
    "Coldwell",
    "Dunmore",
    "Eastbrook",
    "Fairhurst",
    "Glenmoor",
    "Hollins",
    "Ivesdale",
    "Jarrow",
    "Kingsley",
    "Larkspur",
    "Merriweather",
    "Northcott",
    "Oldfield",
    "Pembrook",
    "Quarrington",
    "Redfern",
    "Stonebridge",
    "Thistlewood",
    "Underhill",
    "Vantage",
    "Whitlock",
    "Yarborough",
]


def looks_personal(column: str) -> bool:
    """Whether a column's name suggests personal data (email, name, phone, address, ip...)."""
    name = column.lower()
    if name.endswith("_id") or name.endswith("_at") or name == "id":
        return False
    return _PERSONAL.search(name) is not None


@dataclass(frozen=True)
class MaskedColumn:
    """One column of a COPY query: its name, type, and the masking rule if any."""

    name: str  # unquoted
    data_type: str  # format_type()
    not_null: bool = False
    unique: bool = False
    rule: MaskRule | None = None


def salt_options(url: str, salt: str) -> str:
    """The libpq ``options`` that set the salt at connection start, keeping the URL's own.

    Spaces and backslashes are escaped as libpq requires.
    """
    from psycopg.conninfo import conninfo_to_dict

    own = str(conninfo_to_dict(url).get("options") or "")
    escaped = re.sub(r"([\\\s])", r"\\\1", salt)
    return f"{own} -c {SALT_SETTING}={escaped}".strip()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _array(words: list[str]) -> str:
    return "ARRAY[" + ",".join(_literal(w) for w in words) + "]"


def select_expression(column: MaskedColumn, *, table: str, alias: str = "t") -> str:
    """The SELECT-list item for ``column``: itself, or its mask cast back to its type."""
    ref = f"{alias}.{_quote(column.name)}"
    rule = column.rule
    if rule is None or rule.kind == "keep":
        return ref
    body = _mask_body(rule, ref, column, table)
    if rule.kind in ("null", "fixed"):
        return f"({body})::{column.data_type} AS {_quote(column.name)}"
    return (
        f"(CASE WHEN {ref} IS NULL THEN NULL ELSE {body} END)::{column.data_type}"
        f" AS {_quote(column.name)}"
    )


def _mask_body(rule: MaskRule, ref: str, column: MaskedColumn, table: str) -> str:
    salt = f"current_setting('{SALT_SETTING}')"
    digest = f"md5({salt} || {ref}::text)"
    where = f"{table}.{column.name}"
    if rule.kind == "email":
        return f"'user_' || {digest} || '@example.invalid'"
    if rule.kind == "name":
        first = (
            f"({_array(_FIRST)})[1 + ('x' || substr({digest}, 1, 7))::bit(28)::int % {len(_FIRST)}]"
        )
        last = (
            f"({_array(_LAST)})[1 + ('x' || substr({digest}, 8, 7))::bit(28)::int % {len(_LAST)}]"
        )
        suffix = f" || ' ' || substr({digest}, 15, 12)" if column.unique else ""
        return f"{first} || ' ' || {last}{suffix}"
    if rule.kind == "phone":
        if column.unique:
            wide = f"('x' || substr({digest}, 1, 13))::bit(52)::bigint % 1000000000000"
            number = f"lpad(({wide})::text, 12, '0')"
            return f"'+555' || {number}"
        number = f"lpad((('x' || substr({digest}, 1, 7))::bit(28)::int % 10000000)::text, 7, '0')"
        return f"'+1-555-' || {number}"
    if rule.kind == "hash":
        return f"encode(sha256(convert_to({salt} || {ref}::text, 'UTF8')), 'hex')"
    if rule.kind == "null":
        if column.not_null:
            raise UsageError(
                f"masking rule 'null' for {where} cannot apply: the column is NOT NULL.",
                hint='Use another rule for it (e.g. "hash" or "fixed:VALUE").',
            )
        return "NULL"
    if rule.kind == "fixed":
        if column.unique:
            raise UsageError(
                f"masking rule 'fixed' for {where} would repeat one value in a unique column.",
                hint='Use "hash" (unique) for it instead.',
            )
        return _literal(rule.argument or "")
    if rule.kind == "sql":
        text = (rule.argument or "").replace("{value}", ref).replace("{salt}", salt)
        return f"({text})"
    raise UsageError(f"unknown masking rule '{rule}' for {where}.", hint="See docs/sync.md.")


def unmasked_personal(columns: list[tuple[str, list[MaskedColumn]]]) -> list[str]:
    """``schema.table.column`` of every personal-looking column without a rule."""
    found: list[str] = []
    for table, cols in columns:
        found.extend(f"{table}.{c.name}" for c in cols if c.rule is None and looks_personal(c.name))
    return found
