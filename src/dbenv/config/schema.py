"""Validation of the project file against the schema in docs/architecture.md.

Every key is checked: unknown keys (with the nearest valid key suggested), wrong
types, enums, references between environments. Errors name the file and line.
Cross-field rules that depend on layered values (schema/prefix per isolation)
are checked when an environment is resolved.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

from dbenv.config.discovery import ProjectSource
from dbenv.config.exports import check_export_table, form_roles
from dbenv.config.topology import POOL_MODES, ROLE_KEYS, check_redis_roles
from dbenv.errors import ProjectFileError

Check = Callable[[Any], str | None]
ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
TIERS = ("protected", "disposable")
ISOLATIONS = ("database", "schema", "prefix")
SERVERS = ("local",)


def _is_template(value: object) -> bool:
    return isinstance(value, str) and "${" in value


def text(value: Any) -> str | None:
    return None if isinstance(value, str) else "a string"


def integer(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return None if ok or _is_template(value) else "an integer"


def index(value: Any) -> str | None:
    if _is_template(value):
        return None
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "an integer of 0 or more (a Redis database index)"


def port(value: Any) -> str | None:
    if _is_template(value):
        return None
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535
    return None if ok else "an integer port between 0 and 65535"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def positive(value: Any) -> str | None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    ok = number and 0 < value < float("inf")  # TOML has inf and nan: neither is a timeout
    return None if ok else "a positive number of seconds"


def strings(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return None if ok else "a list of strings"


def globs(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    return None if ok else 'a list of glob patterns relative to the project root (["src/db/**"])'


def selectors(value: Any) -> str | None:
    ok = isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
    return None if ok else "a non-empty list of variable names"


def names(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    return None if ok else "a list of non-empty environment names"


def string_table(value: Any) -> str | None:
    ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return None if ok else 'a table of strings (name = "path")'


def scalars(value: Any) -> str | None:
    ok = isinstance(value, dict) and all(
        isinstance(v, str | int | float | bool) for v in value.values()
    )
    return None if ok else "a table of strings, numbers or booleans"


def selector_table(value: Any) -> str | None:
    def values(item: Any) -> bool:
        items = item if isinstance(item, list) else [item]
        return bool(items) and all(isinstance(v, str) and v for v in items)

    ok = isinstance(value, dict) and all(values(v) for v in value.values())
    return None if ok else 'a table of selector = "value" (or a list of values)'


def any_table(value: Any) -> str | None:
    return None if isinstance(value, dict) else "a table"


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        if value in choices or _is_template(value):
            return None
        return "one of " + ", ".join(f"'{c}'" for c in choices)

    return check


def schema_source(value: Any) -> str | None:
    # A list is the comma form spread out: ["sqlalchemy:app.db", "app.models:Base.metadata"]
    # is "sqlalchemy:app.db,app.models:Base.metadata" (joined when settings are layered).
    if isinstance(value, str):
        return None
    ok = isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
    if ok and str(value[0]).startswith(("sqlalchemy:", "sqlmodel:")):
        return None
    return (
        'a string, or a list of module names for a sqlalchemy: source (["sqlalchemy:app.db", '
        '"app.models:Base.metadata"]) whose first item starts with sqlalchemy:'
    )


def pattern(value: Any) -> str | None:
    if value is False:
        return None  # explicitly no pattern, like ""
    if not isinstance(value, str):
        return 'a regular expression string, or "" / false for no name pattern'
    try:
        re.compile(value)
    except re.error as exc:
        return f"a valid regular expression ({exc})"
    return None


PROJECT_KEYS: Mapping[str, Check] = {
    "name": text,
    "selectors": selectors,
    "default": text,
    "env_files": strings,
    "secret_timeout": positive,
    "lock_timeout": positive,
    "schema_timeout": positive,
    "production_names": names,
}
LOCAL_KEYS: Mapping[str, Check] = {
    "data_dir": text,
    "port": port,
    "redis": boolean,
    "redis_port": port,
    "redis_persist": boolean,
    "replica": boolean,
    "replica_port": port,
    "pooler": boolean,
    "pooler_port": port,
    "disposable": boolean,
    "pg_bindir": text,
}
ENVIRONMENT_KEYS: Mapping[str, Check] = {
    "tier": one_of(*TIERS),
    "isolation": one_of(*ISOLATIONS),
    "schema": text,
    "prefix": text,
    "database_url": text,
    "host": text,
    "port": port,
    "database": text,
    "user": text,
    "password": text,
    "server": one_of(*SERVERS),
    "admin_url": text,
    "pooler_url": text,
    "pool_mode": one_of(*POOL_MODES),
    "replicas": strings,
    "replica_max_lag": positive,
    "redis_url": text,
    "redis_cluster": strings,
    "redis": check_redis_roles,  # [environments.NAME.redis.ROLE]: ROLE_KEYS
    "redis_db": index,
    "redis_prefix": text,
    "env_files": strings,
    "required": strings,
    "guard_pattern": pattern,
    "shares_with": strings,
    "tenants": strings,
    "components": string_table,
    "extensions": strings,
    "createdb": boolean,
    "schema_source": schema_source,
    "schema_inputs": globs,
    "schema_timeout": positive,
    "reference": text,
    "seed_files": strings,
    "keep_tables": strings,
    "reference_rows": boolean,
    "vars": scalars,
    "export": check_export_table,
    "selector_values": selector_table,
    "disposable_despite_name": boolean,
    "build": any_table,  # its keys: BUILD_KEYS
}
# [environments.NAME.build]: steps around building the schema source (docs/lifecycle.md)
BUILD_KEYS: Mapping[str, Check] = {
    "before_sql": strings,
    "after": strings,
}
TOP_KEYS: Mapping[str, Check] = {
    "project": any_table,
    "vars": scalars,
    "local": any_table,
    "export": check_export_table,
    "environments": any_table,
    "sync": any_table,  # reserved for sync profiles; content checked by sync
    "diff": any_table,  # reserved for diff options; content checked by diff
}
# settings an environment-scoped variable DBENV_<ENV>_<KEY> may override
SCALAR_SETTINGS = (
    "tier",
    "isolation",
    "schema",
    "prefix",
    "database_url",
    "host",
    "port",
    "database",
    "user",
    "password",
    "server",
    "admin_url",
    "pooler_url",
    "pool_mode",
    "redis_url",
    "redis_db",
    "redis_prefix",
    "guard_pattern",
    "schema_source",
)


def suggest(key: str, valid: Mapping[str, object] | list[str] | tuple[str, ...]) -> str:
    """`` Did you mean 'x'?`` for the nearest valid key, or ``""``."""
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def _table_name(path: tuple[str, ...]) -> str:
    return "[" + ".".join(path) + "]" if path else "the top level"


def _at(source: ProjectSource, line: int | None) -> str:
    return f"{source.path}:{line}" if line else str(source.path)


def _check_table(
    source: ProjectSource,
    path: tuple[str, ...],
    table: Mapping[str, Any],
    spec: Mapping[str, Check],
) -> None:
    for key, value in table.items():
        where = (*path, key)
        line = source.lines.line_of(where)
        if key not in spec:
            raise ProjectFileError(
                f"unknown key '{key}' in {_table_name(path)} of {_at(source, line)}.",
                hint=(suggest(key, spec).strip() or "Valid keys: " + ", ".join(spec) + "."),
                path=source.path,
                line=line,
            )
        problem = spec[key](value)
        if problem:
            raise ProjectFileError(
                f"'{'.'.join(where)}' in {_at(source, line)} must be {problem}.",
                hint="Fix the value (see docs/configuration.md).",
                path=source.path,
                line=line,
            )


def fail(source: ProjectSource, where: tuple[str, ...], message: str, hint: str) -> None:
    line = source.lines.line_of(where)
    raise ProjectFileError(
        f"{_at(source, line)}: {message}", hint=hint, path=source.path, line=line
    )


def _check_reference(
    source: ProjectSource, environments: Mapping[str, Any], name: str, reference: object
) -> None:
    """``reference`` (the environment whose schema status compares with) must be another one."""
    if reference is None or _is_template(reference):
        return
    where = ("environments", name, "reference")
    if reference == name:
        fail(source, where, f"environment '{name}' is its own reference.", "Name another one.")
    if reference not in environments:
        fail(
            source,
            where,
            f"environment '{name}' has reference '{reference}', which is not declared.",
            "Declared: " + ", ".join(environments) + "." + suggest(str(reference), environments),
        )


def _check_selector_values(
    source: ProjectSource, project: Mapping[str, Any], name: str, values: Mapping[str, Any]
) -> None:
    """``selector_values`` may only name the project's selector variables."""
    selectors = project.get("selectors", ["APP_ENV", "ENVIRONMENT"])
    for selector in values:
        if selector not in selectors:
            fail(
                source,
                ("environments", name, "selector_values", selector),
                f"selector_values of environment '{name}' names '{selector}', which is not "
                "a selector variable.",
                "Selectors: "
                + ", ".join(selectors)
                + " (add it to [project] selectors)."
                + suggest(selector, selectors),
            )


def _check_tenants(
    source: ProjectSource, environments: Mapping[str, Any], name: str, table: Mapping[str, Any]
) -> None:
    """``tenants``: on a database-isolation environment, naming prefix/schema ones."""
    tenants = table.get("tenants")
    if not tenants:
        return
    where = ("environments", name, "tenants")
    if table.get("isolation", "database") != "database":
        fail(
            source,
            where,
            f"environment '{name}' lists tenants but is not in database isolation.",
            "Only an environment owning a whole database can host tenants; remove tenants.",
        )
    for tenant in tenants:
        other = environments.get(tenant)
        if not isinstance(other, dict):
            fail(
                source,
                where,
                f"environment '{name}' lists tenant '{tenant}', which is not declared.",
                "Declared: " + ", ".join(environments) + "." + suggest(tenant, environments),
            )
        elif other.get("isolation", "database") not in ("prefix", "schema") and not (
            _is_template(other.get("isolation"))
        ):
            fail(
                source,
                where,
                f"environment '{name}' lists tenant '{tenant}', which is not in prefix or"
                " schema isolation.",
                f"A tenant lives inside '{name}''s database: give '{tenant}' isolation ="
                ' "prefix" or "schema", or remove it from tenants.',
            )


def _check_roles(
    source: ProjectSource, data: Mapping[str, Any], environments: Mapping[str, Any]
) -> None:
    """A form naming a Redis role (``redis_host:cache``) must name one some environment has."""
    declared = {role for table in environments.values() for role in table.get("redis", {})}
    tables = [(("export",), data.get("export", {}))] + [
        (("environments", name, "export"), table.get("export", {}))
        for name, table in environments.items()
    ]
    for path, forms in tables:
        for variable, role in form_roles(forms).items():
            if role not in declared:
                fail(
                    source,
                    (*path, variable),
                    f"{variable} names Redis role '{role}', which no environment declares.",
                    f"Declare it ([environments.NAME.redis.{role}]) or fix the name."
                    + suggest(role, sorted(declared)),
                )


def validate(source: ProjectSource) -> None:
    """Raise ``ProjectFileError`` for the first problem in the project file."""
    data = source.data
    _check_table(source, (), data, TOP_KEYS)
    project = data.get("project")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        fail(source, ("project",), "the project has no name.", 'Add [project] name = "myapp".')
        return
    _check_table(source, ("project",), project, PROJECT_KEYS)
    _check_table(source, ("local",), data.get("local", {}), LOCAL_KEYS)
    environments = data.get("environments", {})
    for name, table in environments.items():
        if not ENV_NAME.match(name):
            fail(
                source,
                ("environments", name),
                f"environment name '{name}' is not valid.",
                "Use letters, digits, '_' and '-', starting with a letter.",
            )
        if not isinstance(table, dict):
            fail(source, ("environments", name), f"[environments.{name}] must be a table.", "")
        _check_table(source, ("environments", name), table, ENVIRONMENT_KEYS)
        _check_table(source, ("environments", name, "build"), table.get("build", {}), BUILD_KEYS)
        for role, spec in table.get("redis", {}).items():
            _check_table(source, ("environments", name, "redis", role), spec, ROLE_KEYS)
        _check_reference(source, environments, name, table.get("reference"))
        _check_selector_values(source, project, name, table.get("selector_values", {}))
        _check_tenants(source, environments, name, table)
        for other in table.get("shares_with", []):
            if other not in environments:
                fail(
                    source,
                    ("environments", name, "shares_with"),
                    f"environment '{name}' shares_with '{other}', which is not declared.",
                    "Declared: " + ", ".join(environments) + "." + suggest(other, environments),
                )
    _check_roles(source, data, environments)
    default = project.get("default")
    if default is not None and default not in environments:
        fail(
            source,
            ("project", "default"),
            f"the default environment '{default}' is not declared.",
            "Declared: " + ", ".join(environments) + "." + suggest(default, environments),
        )
