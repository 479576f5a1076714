"""The resolved project: its file, its environments, and which one is active.

``load_project`` finds, parses and validates the project file once; each
``Project.environment(name)`` layers that environment's variables and settings
into a frozen ``Environment`` (cached, so a secret is resolved at most once).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbenv.config.discovery import ProjectSource, find_project_file, read_project_file
from dbenv.config.dotenv_files import read_env_file
from dbenv.config.exports import NO_SEARCH_PATH, export_forms, topology_defaults
from dbenv.config.interpolation import Resolver
from dbenv.config.local_state import local_settings
from dbenv.config.model import (
    DEFAULT_REPLICA_MAX_LAG,
    DEFAULT_SCHEMA_TIMEOUT,
    Environment,
    LocalSettings,
    Origin,
    Secret,
    Setting,
)
from dbenv.config.references import DEFAULT_TIMEOUT, reference_secret
from dbenv.config.schema import validate
from dbenv.config.settings import (
    REFERENCE_KEYS,
    SettingsContext,
    declared_scheme,
    libpq_secret,
    resolve_settings,
)
from dbenv.config.tier_names import ALLOW_KEY, check_named_tier
from dbenv.config.topology import redis_roles, secret_texts, settings_list
from dbenv.config.variables import layer_variables, visible_variables
from dbenv.errors import NoEnvironmentSelected, ProjectFileError, UnknownEnvironment

DEFAULT_LOCK_TIMEOUT = 60.0  # seconds: long enough for another reset, short of forever

DEFAULT_SELECTORS = ("APP_ENV", "ENVIRONMENT")
OVERRIDE_VARIABLE = "DBENV_I_MEAN_IT"


@dataclass(frozen=True, eq=False)
class Project:
    """A validated project file plus the process environment it is read against."""

    name: str
    source: ProjectSource
    selectors: tuple[str, ...]
    default: str | None
    env_files: tuple[Path, ...]
    secret_timeout: float
    local: LocalSettings
    environment_names: tuple[str, ...]
    process_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    overrides: Mapping[str, str] = field(default_factory=dict, repr=False)
    # seconds an operation waits for a lock (another dbenv, a session holding rows)
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    # seconds a schema build's command may run ([project] schema_timeout; an
    # environment's own schema_timeout wins)
    schema_timeout: float = DEFAULT_SCHEMA_TIMEOUT
    _cache: dict[str, Environment] = field(default_factory=dict, repr=False, compare=False)

    @property
    def root(self) -> Path:
        return self.source.root

    @property
    def path(self) -> Path:
        """The project file (``dbenv.toml`` or ``pyproject.toml``)."""
        return self.source.path

    @property
    def sync(self) -> Mapping[str, Any]:
        """The reserved ``[sync]`` table (sync profiles), unvalidated."""
        return dict(self.source.data.get("sync", {}))

    def reference(self, text: str, *, key: tuple[str, ...]) -> Secret | None:
        """A lazy ``Secret`` for a reference (``env:``/``file:``/``cmd:``) read at ``key``.

        For values of reserved tables, e.g. the sync masking salt; None if not a reference.
        """
        line = self.source.lines.line_of(key)
        origin = Origin("project", self.label(self.path), line)
        return reference_secret(
            text,
            origin=origin,
            root=self.root,
            timeout=self.secret_timeout,
            lookup=self.process_env.get,
        )

    @property
    def diff(self) -> Mapping[str, Any]:
        """The reserved ``[diff]`` table, unvalidated."""
        return dict(self.source.data.get("diff", {}))

    def label(self, path: Path) -> str:
        """How origins and messages name a file: relative to the root when inside it."""
        try:
            return str(Path(path).relative_to(self.root))
        except ValueError:
            return str(path)

    def _path(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.root / path

    def explicit_files(self, name: str) -> tuple[Path, ...]:
        """The env files the project file names for ``name`` (not the implicit defaults)."""
        listed: list[str] = list(self.source.data["project"].get("env_files", []))
        listed += self.source.data["environments"][name].get("env_files", [])
        return tuple(self._path(p) for p in listed)

    def environment(self, name: str | None = None) -> Environment:
        """Environment ``name`` (default: the active one), resolved with origins."""
        chosen = self.active_name() if name is None else self._declared(name, None)
        if chosen not in self._cache:
            self._cache[chosen] = self._resolve(chosen)
        return self._cache[chosen]

    def environments(self) -> tuple[Environment, ...]:
        """Every declared environment, in file order."""
        return tuple(self.environment(name) for name in self.environment_names)

    def _declared(self, name: str, where: str | None) -> str:
        if name in self.environment_names:
            return name
        declared = ", ".join(self.environment_names) or "none"
        close = difflib.get_close_matches(name, self.environment_names, n=1, cutoff=0.5)
        hint = f"Did you mean '{close[0]}'? " if close else ""
        source = f" (from {where})" if where else ""
        raise UnknownEnvironment(
            f"unknown environment '{name}'{source}; declared: {declared}.",
            hint=hint + f"Declare it under [environments.{name}] in {self.label(self.path)}.",
        )

    def active_name(self) -> str:
        """The selected environment: selectors in the process env, then in .env, then default."""
        for selector in self.selectors:
            value = self.process_env.get(selector)
            if value:
                return self.selected(selector, value, f"process environment ${selector}")
        for path in self.env_files:
            values = read_env_file(path, label=self.label(path)) or {}
            for selector in self.selectors:
                if values.get(selector) and values[selector].text:
                    raw = values[selector]
                    where = f"{raw.origin.source}:{raw.origin.line}"
                    return self.selected(selector, raw.text, where)
        if self.default:
            return self.default
        raise NoEnvironmentSelected(
            "no environment selected: no selector variable "
            f"({', '.join(self.selectors)}) is set and the project has no default.",
            hint=f'Set {self.selectors[0]}=<name> or add default = "..." under [project].',
        )

    def claimants(self, selector: str, value: str) -> tuple[str, ...]:
        """The environments ``selector=value`` names: by name, else by ``selector_values``."""
        if value in self.environment_names:
            return (value,)
        tables = self.source.data["environments"]
        return tuple(
            name
            for name in self.environment_names
            if value in _values(tables[name].get("selector_values", {}).get(selector))
        )

    def selected(self, selector: str, value: str, where: str) -> str:
        """The environment ``selector=value`` (read at ``where``) selects."""
        names = self.claimants(selector, value)
        if len(names) == 1:
            return names[0]
        if not names:
            return self._declared(value, where)
        raise UnknownEnvironment(
            f"{selector}={value} (from {where}) could be environment "
            + " or ".join(f"'{n}'" for n in names)
            + ": each declares it in selector_values.",
            hint=f"Set {self.selectors[0]} to the environment's name, or give each its own value.",
        )

    @property
    def declared_environment(self) -> tuple[str, str] | None:
        """(variable, value) of the first selector set in the process environment."""
        for selector in self.selectors:
            value = self.process_env.get(selector)
            if value:
                return selector, value
        return None

    def selected_name(self) -> str | None:
        """The selected environment, or None when nothing selects one.

        For what reads every environment, or one it names (``dbenv envs``,
        ``dbenv config show test``): it marks the active one when there is one.
        A selector naming an undeclared environment is still an error.
        """
        try:
            return self.active_name()
        except NoEnvironmentSelected:
            return None

    @property
    def override_database(self) -> str | None:
        """The database named by ``DBENV_I_MEAN_IT`` in the process environment."""
        return self.process_env.get(OVERRIDE_VARIABLE) or None

    def _texts_of(self, keys: frozenset[str]) -> list[str]:
        """Every environment's values of settings ``keys``, as written."""
        tables = self.source.data["environments"].values()
        texts = [v for t in tables for k, v in t.items() if k in keys and isinstance(v, str)]
        if "database_url" in keys:  # the topology's URLs are references too
            texts += [v for t in tables for v in secret_texts(t)]
        return texts

    def _secret_texts(self) -> list[str]:
        """What may make a variable a secret, from every environment (not only the one resolved).

        A variable one environment makes a password (``${DB_PW}`` in its URL, or
        ``env:STAGE_PW``) is a secret in every environment's view, and so is the
        variable the masking salt reads.
        """
        data = self.source.data
        texts = self._texts_of(REFERENCE_KEYS)
        for table in (data, *data["environments"].values()):
            texts += [str(v) for v in dict(table.get("vars", {})).values()]
        salt = data.get("sync", {}).get("salt")
        return [*texts, salt] if isinstance(salt, str) else texts

    def _resolve(self, name: str) -> Environment:
        data = self.source.data
        table: Mapping[str, Any] = data["environments"][name]
        own_files = tuple(self._path(p) for p in table.get("env_files", [f".env.{name}"]))
        files = (*self.env_files, *own_files)
        layered = layer_variables(
            data=data,
            name=name,
            lines=self.source.lines,
            project_label=self.label(self.path),
            shared_files=self.env_files,
            own_files=own_files,
            process_env=self.process_env,
            overrides=self.overrides,
            label=self.label,
        )
        required = tuple(table.get("required", []))
        resolver: Resolver

        def make_secret(text: str, origin: Origin) -> Secret | None:
            return reference_secret(
                text,
                origin=origin,
                root=self.root,
                timeout=self.secret_timeout,
                lookup=lambda var: resolver.plain(var),
            )

        resolver = Resolver(
            layered.raw,
            make_secret=make_secret,
            required=frozenset(required),
            references=self._secret_texts(),
            passwords=self._texts_of(frozenset({"password"})),
        )
        settings = resolve_settings(
            SettingsContext(
                project=self.name,
                environment=name,
                table=table,
                label=self.label(self.path),
                lines=self.source.lines,
                local=self.local,
                resolver=resolver,
                label_of=self.label,
            )
        )
        check_named_tier(
            name,
            settings,
            table,
            data["project"].get("production_names", ()),
            self.source.lines.line_of(("environments", name, ALLOW_KEY)),
            self.label(self.path),
        )
        variables = visible_variables(layered, resolver, required)
        return _environment(self, name, table, settings, variables, files, layered)


def _values(value: Any) -> tuple[str, ...]:
    """A ``selector_values`` entry: one value or a list of them."""
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (str(value),)


def _value(settings: Mapping[str, Setting], key: str, default: Any = None) -> Any:
    setting = settings.get(key)
    return default if setting is None or setting.value is None else setting.value


def _environment(
    project: Project,
    name: str,
    table: Mapping[str, Any],
    settings: dict[str, Setting],
    variables: dict[str, Setting],
    files: tuple[Path, ...],
    layered: Any,
) -> Environment:
    def paths(key: str) -> tuple[Path, ...]:
        return tuple(project._path(p) for p in table.get(key, []))

    defaults = topology_defaults(
        pooled=_value(settings, "pooler_url") is not None,
        replicas=bool(settings_list(settings, "replicas")),
        cluster=bool(settings_list(settings, "redis_cluster")),
        roles=tuple(table.get("redis", {})),
    )
    forms = export_forms(
        project.source.data.get("export", {}), table.get("export", {}), defaults=defaults
    )
    _check_forms(project, name, settings, forms)

    return Environment(
        name=name,
        project=project.name,
        root=project.root,
        tier=_value(settings, "tier", "protected"),
        isolation=_value(settings, "isolation", "database"),
        schema=_value(settings, "schema"),
        prefix=_value(settings, "prefix"),
        database_url=libpq_secret(_value(settings, "database_url")),
        admin_url=libpq_secret(_value(settings, "admin_url")),
        pooler_url=libpq_secret(_value(settings, "pooler_url")),
        pool_mode=_value(settings, "pool_mode"),
        replicas=tuple(r for r in map(libpq_secret, settings_list(settings, "replicas")) if r),
        replica_max_lag=float(table.get("replica_max_lag", DEFAULT_REPLICA_MAX_LAG)),
        redis_cluster=settings_list(settings, "redis_cluster"),
        redis_roles=redis_roles(table, settings),
        url_scheme=declared_scheme(settings.get("database_url")),
        redis_url=_value(settings, "redis_url"),
        redis_db=_value(settings, "redis_db"),
        redis_prefix=_value(settings, "redis_prefix"),
        server=_value(settings, "server"),
        guard_pattern=_value(settings, "guard_pattern"),
        shares_with=tuple(table.get("shares_with", [])),
        tenants=tuple(table.get("tenants", [])),
        required=tuple(table.get("required", [])),
        env_files=files,
        components={k: project._path(v) for k, v in table.get("components", {}).items()},
        extensions=tuple(table.get("extensions", [])),
        createdb=bool(table.get("createdb", False)),
        schema_source=_value(settings, "schema_source"),
        schema_inputs=tuple(table.get("schema_inputs", [])),
        schema_timeout=float(table.get("schema_timeout", project.schema_timeout)),
        reference=table.get("reference"),
        seed_files=paths("seed_files"),
        keep_tables=tuple(table.get("keep_tables", [])),
        reference_rows=bool(table.get("reference_rows", True)),
        build_before_sql=tuple(table.get("build", {}).get("before_sql", [])),
        build_after=tuple(table.get("build", {}).get("after", [])),
        selectors=project.selectors,
        selector_values={k: _values(v) for k, v in table.get("selector_values", {}).items()},
        export_forms=forms,
        settings=settings,
        variables=variables,
        files_read=layered.files_read,
        files_missing=tuple(p for p in layered.files_missing if p in project.explicit_files(name)),
    )


def _check_forms(
    project: Project, name: str, settings: Mapping[str, Setting], forms: Mapping[str, str]
) -> None:
    """A schema environment's URLs carry its search_path: refuse forms that cannot."""
    if _value(settings, "isolation") != "schema":
        return
    scheme = declared_scheme(settings.get("database_url"))
    for variable, form in forms.items():
        base = form.partition(":")[0].removeprefix("direct_").removeprefix("replica_")
        driver = scheme.partition("+")[2] if base in ("url", "urls") else base.partition("+")[2]
        if not base.startswith("url") or driver not in NO_SEARCH_PATH:
            continue
        data, lines = project.source.data, project.source.lines
        env_table = data["environments"][name].get("export", {})
        key = (
            ("environments", name, "export", variable)
            if variable in env_table
            else ("export", variable)
            if variable in data.get("export", {})
            else ("environments", name, "database_url")
        )
        line = lines.line_of(key)
        raise ProjectFileError(
            f"{project.label(project.path)}:{line}: environment '{name}' uses schema isolation, "
            f"but {variable} would be a postgresql+{driver} URL, which cannot carry its "
            "search_path.",
            hint=f'Export it as "url+psycopg" (e.g. {variable} = "url+psycopg" under [export]),'
            " or use database isolation.",
            path=project.path,
            line=line,
        )


def load_project(
    *,
    project: Path | str | None = None,
    cwd: Path | str | None = None,
    process_env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Project:
    """Find, parse and validate the project file (raises ``ConfigError`` subclasses).

    ``process_env`` defaults to ``os.environ``; ``overrides`` are explicit
    variables, the highest layer (``DBENV_<ENV>_<KEY>`` names override settings).
    """
    path = find_project_file(project=project, cwd=Path(cwd) if cwd is not None else None)
    source = read_project_file(path)
    validate(source)
    data = source.data
    meta: Mapping[str, Any] = data["project"]
    root = source.root

    def absolute(text: str) -> Path:
        candidate = Path(text).expanduser()
        return candidate if candidate.is_absolute() else root / candidate

    return Project(
        name=meta["name"],
        source=source,
        selectors=tuple(meta.get("selectors", DEFAULT_SELECTORS)),
        default=meta.get("default"),
        env_files=tuple(absolute(p) for p in meta.get("env_files", [".env"])),
        secret_timeout=float(meta.get("secret_timeout", DEFAULT_TIMEOUT)),
        lock_timeout=float(meta.get("lock_timeout", DEFAULT_LOCK_TIMEOUT)),
        schema_timeout=float(meta.get("schema_timeout", DEFAULT_SCHEMA_TIMEOUT)),
        local=local_settings(data.get("local", {}), root),
        environment_names=tuple(data.get("environments", {})),
        process_env=dict(os.environ if process_env is None else process_env),
        overrides=dict(overrides or {}),
    )
