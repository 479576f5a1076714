"""The doctor's rules: static problems in a project's environments and files.

Each rule looks at resolved environments (never connecting to a server, unless
``--verify`` asks ``dbenv.doctor.verify`` to try a found password) or at the project's
files, and returns ``Finding``s with a rule id, a severity, the environment
concerned, what was found, and how to fix it. Nothing here reveals a
secret: URLs are judged from their masked form, leaks are reported masked.

Rules: missing-variables, unresolvable, shared-database, no-tls, components-disagree,
env-file-tracked, env-file-not-ignored, credential-in-file (``dbenv.doctor.files``), and
``scan --history``'s credential-in-history; migrations-over-pooler and redis-shared
(``dbenv.doctor.topology``); and, unless ``--offline``, the rules that connect: stamp-tier
(``dbenv.doctor.stamps``), replica-not-in-recovery, replica-of-other-primary and
pooler-leads-elsewhere (``dbenv.doctor.topology_probe``). ``RULES`` describes each. A
finding's ``fingerprint`` (rule, environment, file, masked text; not the line) is what
baselines and SARIF match on (``Finding``, ``CheckReport`` and ``RULES`` live in
``dbenv.doctor.findings``, which the rules' modules share).

TLS: loopback hosts (localhost, 127.0.0.1, ::1) and unix sockets are exempt from
``no-tls``: that traffic never leaves the machine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from dbenv.doctor.findings import RULES, CheckReport, Finding, Severity
from dbenv.errors import ConfigError

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.config.model import Environment

__all__ = [
    "RULES",
    "CheckReport",
    "Finding",
    "components_rule",
    "missing_variables_rule",
    "run_checks",
    "shared_database_rule",
    "tls_rule",
]

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", ""}
_TLS_MODES = {"require", "verify-ca", "verify-full"}


# --- environments -----------------------------------------------------------------


def missing_variables(env: Environment) -> list[str]:
    """The required variables an environment lacks (the library's own definition)."""
    import dbenv

    return dbenv.missing_variables(env)


def missing_variables_rule(
    env: Environment, missing: Sequence[str], *, strict: bool
) -> list[Finding]:
    """All required variables an environment lacks, in one finding.

    ``strict`` (the environment is active or was named) makes it an error; for the
    others it is a warning, since production's secrets are rightly absent on a laptop.
    """
    if not missing:
        return []
    return [
        Finding(
            "missing-variables",
            "error" if strict else "warning",
            env.name,
            f"environment '{env.name}' is missing required variables: {', '.join(missing)}.",
            f"Set them in .env, .env.{env.name} or the process environment (see .env.example).",
        )
    ]


def _target(env: Environment) -> tuple[str, int, str, str] | None:
    """(host, port, database, schema-or-prefix) from the masked URL; None without a URL."""
    from dbenv.config.local_state import local_database_name
    from dbenv.config.urls import target_of

    if env.database_url is not None:
        try:
            target = target_of(env.database_url.masked)
        except ConfigError:
            return None
        host, port, database = target.host, target.port, target.database
    elif env.server == "local":  # the stack is not running: one server all the same
        setting = env.settings.get("database")
        named = str(setting.value) if setting is not None and setting.value else None
        host, port = "local stack", 0
        database = named or local_database_name(env.project, env.name)
    else:
        return None
    scope = ""
    if env.isolation == "schema":
        scope = f"schema:{env.schema or 'public'}"
    elif env.isolation == "prefix":
        scope = f"prefix:{env.prefix or ''}"
    return host, port, database, scope


def _is_local(host: str) -> bool:
    return host in _LOOPBACK or host.startswith("/")


def _shared(a: Environment, b: Environment) -> bool:
    return b.name in a.shares_with or a.name in b.shares_with


def shared_database_rule(
    envs: Sequence[Environment], *, only: Sequence[str] | None = None
) -> list[Finding]:
    """Two environments on one server+database(+schema/prefix), not declared shared.

    With ``only``, pairs where neither environment is listed are left out.
    """
    findings: list[Finding] = []
    targets = [(env, _target(env)) for env in envs]
    for i, (a, ta) in enumerate(targets):
        for b, tb in targets[i + 1 :]:
            if ta is None or ta != tb or _shared(a, b):
                continue
            if only is not None and a.name not in only and b.name not in only:
                continue
            host, port, database, scope = ta
            server = f"{host}:{port}" if port else host
            where = f"{server}/{database}" + (f" ({scope})" if scope else "")
            protected = [e.name for e in (a, b) if not e.disposable]
            severity: Severity = "error" if protected else "warning"
            why = (
                f"'{protected[0]}' is protected, so a reset of the other would destroy it"
                if protected
                else "resetting one wipes the other"
            )
            findings.append(
                Finding(
                    "shared-database",
                    severity,
                    b.name,
                    f"environments '{a.name}' and '{b.name}' both resolve to {where}; {why}.",
                    f"Give '{b.name}' its own database (or schema/prefix), or, if the sharing "
                    f'is deliberate, add shares_with = ["{a.name}"] to [environments.{b.name}].',
                )
            )
    return findings


def tls_rule(env: Environment) -> list[Finding]:
    """A protected environment whose database or Redis traffic may go unencrypted."""
    if env.disposable:
        return []
    findings: list[Finding] = []
    database = _target(env)
    if env.database_url is not None and database is not None:
        host = database[0]
        mode = parse_qs(urlsplit(env.database_url.masked).query).get("sslmode", [""])[0].lower()
        if not _is_local(host) and mode not in _TLS_MODES:
            shown = f"sslmode={mode}" if mode else "no sslmode"
            findings.append(
                Finding(
                    "no-tls",
                    "warning",
                    env.name,
                    f"protected environment '{env.name}' connects to {host} with {shown}; "
                    "the connection may be unencrypted.",
                    "Add ?sslmode=require (better: verify-full) to its database_url.",
                )
            )
    if env.redis_url is not None:
        parts = urlsplit(env.redis_url.masked)
        host = (parts.hostname or "").lower()
        if parts.scheme == "redis" and not _is_local(host):
            findings.append(
                Finding(
                    "no-tls",
                    "warning",
                    env.name,
                    f"protected environment '{env.name}' reaches Redis at {host} over plain "
                    "redis://; the connection is unencrypted.",
                    "Use a rediss:// URL.",
                )
            )
    return findings


@dataclass(frozen=True)
class ComponentView:
    """What one component's env file says: the environment it selects and its database."""

    name: str
    path: str
    selected: str | None
    selected_line: int | None
    database: str | None  # masked URL, for display
    target: tuple[str, ...] | None
    missing: bool = False


def redis_index_rule(env: Environment) -> list[Finding]:
    """Exported Redis host/port without the environment's db index (an app's FLUSHDB
    on db 0 would empty another environment's keys)."""
    from dbenv.config.exports import lost_redis_index

    names = lost_redis_index(env)
    if not names:
        return []
    return [
        Finding(
            "redis-index-not-exported",
            "warning",
            env.name,
            f"environment '{env.name}' uses a Redis db index other than 0, but the app gets "
            f"its Redis as {', '.join(names)} (host and port carry no index): it would use "
            "db 0, another environment's.",
            'Export the index too (e.g. CACHE_DB = "redis_db" under [export]) if the app '
            "reads one, or give this environment a Redis of its own (redis_url on another "
            "port).",
        )
    ]


def component_views(env: Environment) -> list[ComponentView]:
    """Read each component's env file (missing files are skipped by the caller's rule)."""
    from dbenv.config.dotenv_files import read_env_file
    from dbenv.config.masking import mask_url

    views: list[ComponentView] = []
    for name, path in sorted(env.components.items()):
        full = path if path.is_absolute() else env.root / path
        shown = _shown(full, env.root)
        values = read_env_file(full, label=shown)
        if values is None:
            views.append(ComponentView(name, shown, None, None, None, None, missing=True))
            continue
        plain = {key: (raw.text, raw.origin.line) for key, raw in values.items()}
        selected, line = mapping_selected(plain, env.selectors)
        url = component_database_url({key: text for key, (text, _) in plain.items()})
        target = _url_target(url) if url else None
        views.append(
            ComponentView(name, shown, selected, line, mask_url(url) if url else None, target)
        )
    return views


_POSTGRES_URL = re.compile(r"^postgres(ql)?(\+\w+)?://", re.I)
_FILE_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")
_PART_KEYS = {
    "host": ("POSTGRES_HOST", "DB_HOST", "PGHOST", "DATABASE_HOST"),
    "port": ("POSTGRES_PORT", "DB_PORT", "PGPORT", "DATABASE_PORT"),
    "database": ("POSTGRES_DB", "DB_NAME", "PGDATABASE", "DATABASE_NAME"),
}


def component_database_url(values: Mapping[str, str]) -> str | None:
    """The database a component's env file points at: ``DATABASE_URL``, else another
    variable holding a PostgreSQL URL, else host/port/name parts (``POSTGRES_DB``, ...);
    ``${VAR}`` references to the same file are expanded."""

    def expand(text: str, depth: int = 0) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(3)
            if name in values and depth < 5:
                return expand(values[name], depth + 1)
            return match.group(2) or ""

        return _FILE_VAR.sub(one, text)

    urls = [(k, expand(v)) for k, v in values.items() if _POSTGRES_URL.match(expand(v))]
    urls.sort(key=lambda item: item[0] != "DATABASE_URL")
    if urls:
        return urls[0][1]
    parts = {
        part: next((expand(values[k]) for k in keys if values.get(k)), None)
        for part, keys in _PART_KEYS.items()
    }
    if not parts["database"]:
        return None
    port = parts["port"] if (parts["port"] or "").isdigit() else "5432"
    return f"postgresql://{parts['host'] or 'localhost'}:{port}/{parts['database']}"


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _url_target(url: str) -> tuple[str, ...] | None:
    from dbenv.config.urls import target_of

    try:
        target = target_of(url)
    except ConfigError:
        return None
    return target.host, str(target.port), target.database


def components_rule(env: Environment, views: Sequence[ComponentView]) -> list[Finding]:
    """Components of one environment whose env files disagree (seed 000's "DO NOT DO")."""
    findings: list[Finding] = []
    for view in views:
        if view.missing:
            findings.append(
                Finding(
                    "components-disagree",
                    "warning",
                    env.name,
                    f"component '{view.name}' has no env file at {view.path}; "
                    "cannot tell which environment it runs in.",
                    f"Create {view.path} with the selector set to '{env.name}', or fix the "
                    f"path in [environments.{env.name}].components.",
                    path=view.path,
                )
            )
        elif view.selected is not None and view.selected != env.name:
            findings.append(
                Finding(
                    "components-disagree",
                    "error",
                    env.name,
                    f"component '{view.name}' ({view.path}) selects environment "
                    f"'{view.selected}', but it is declared under '{env.name}'.",
                    f"Set the selector to '{env.name}' in {view.path}, or start it with "
                    f"`dbenv run {env.name} -- ...` so every component gets the same value.",
                    path=view.path,
                    line=view.selected_line,
                )
            )
    selected = {v.selected for v in views if v.selected is not None}
    if len(selected) > 1 and not findings:
        shown = ", ".join(f"{v.name}={v.selected}" for v in views if v.selected)
        findings.append(
            Finding(
                "components-disagree",
                "error",
                env.name,
                f"components of '{env.name}' select different environments: {shown}.",
                "Make them agree, or start each with `dbenv run ENV -- ...`.",
            )
        )
    targets = {v.target for v in views if v.target is not None}
    if len(targets) > 1:
        shown = ", ".join(f"{v.name} -> {v.database}" for v in views if v.database)
        findings.append(
            Finding(
                "components-disagree",
                "error",
                env.name,
                f"components of '{env.name}' use different databases: {shown}.",
                "Remove DATABASE_URL from the components' env files and let dbenv supply it "
                f"(`dbenv run {env.name} -- ...`), or make them identical.",
            )
        )
    return findings


def resolution_finding(name: str, error: ConfigError) -> Finding:
    """An environment that does not resolve at all (bad URL, unresolvable ${VAR}, ...)."""
    return Finding(
        "unresolvable",
        "error",
        name,
        error.message if error.message.endswith(".") else error.message + ".",
        error.hint or "Fix the value the message names.",
        path=str(error.path) if error.path else None,
        line=error.line,
    )


def mapping_selected(
    values: Mapping[str, tuple[str, int | None]], selectors: Sequence[str]
) -> tuple[str | None, int | None]:
    """The first selector variable set in an env file, with its line."""
    for selector in selectors:
        if selector in values and values[selector][0]:
            return values[selector]
    return None, None


# --- all rules --------------------------------------------------------------------


def run_checks(
    project: Project,
    *,
    names: Sequence[str] = (),
    scan: Sequence[Path] = (),
    verify: bool = False,
    stamps: bool = False,
) -> CheckReport:
    """Every rule that concerns the named environments (default: all, whether or not one
    is selected) and the project's files.

    ``stamps``: also read each environment's stamp (connects; see ``check_stamps``).
    """
    selected = list(names) or list(project.environment_names)
    active = project.selected_name()  # the doctor checks without a selection
    findings: list[Finding] = []
    resolved: list[Environment] = []
    for name in project.environment_names:
        try:
            resolved.append(project.environment(name))
        except ConfigError as error:
            if name in selected:
                findings.append(resolution_finding(name, error))
    from dbenv.doctor.topology import topology_rules

    for env in resolved:
        if env.name not in selected:
            continue
        strict = bool(names) or env.name == active
        findings += missing_variables_rule(env, list(missing_variables(env)), strict=strict)
        findings += tls_rule(env)
        findings += redis_index_rule(env)
        findings += topology_rules(env, resolved)
        if env.components:
            findings += components_rule(env, component_views(env))
    findings += shared_database_rule(resolved, only=selected)
    from dbenv.doctor.files import file_rules

    file_findings, notes, scanned = file_rules(project.root, resolved, scan, verify=verify)
    if stamps:
        from dbenv.doctor.stamps import stamp_tier_rule

        found, unread = stamp_tier_rule(project, [e for e in resolved if e.name in selected])
        findings += found
        notes = [*notes, *unread]
        from dbenv.doctor.topology_probe import topology_probe_rules

        chosen = [e for e in resolved if e.name in selected]
        found, unread = topology_probe_rules(chosen, resolved)
        findings += found
        notes = [*notes, *unread]
    return CheckReport(
        tuple(_located(project, findings) + file_findings),
        tuple(notes),
        tuple(selected),
        files_scanned=scanned,
        project_file=_shown(project.path, project.root),
    )


def _located(project: Project, findings: list[Finding]) -> list[Finding]:
    """Environment findings without a file point at the environment's table in the
    project file, so SARIF and editors can show them somewhere."""
    from dataclasses import replace

    try:
        lines = project.path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    shown = _shown(project.path, project.root)
    located = []
    for finding in findings:
        if finding.path is None and finding.environment is not None:
            header = re.compile(
                rf"^\s*\[(tool\.dbenv\.)?environments\.{re.escape(finding.environment)}\]"
            )
            line = next((i for i, text in enumerate(lines, 1) if header.match(text)), None)
            finding = replace(finding, path=shown, line=line)
        located.append(finding)
    return located
