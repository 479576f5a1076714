"""The doctor's rules: static problems in a project's environments and files.

Each rule looks at resolved environments (never connecting to a server) or at the
project's files, and returns ``Finding``s with a rule id, a severity, the
environment concerned, what was found, and how to fix it. Nothing here reveals a
secret: URLs are judged from their masked form, leaks are reported masked.

Rules: missing-variables, unresolvable, shared-database, no-tls, components-disagree,
env-file-tracked, env-file-not-ignored, credential-in-file.

TLS: loopback hosts (localhost, 127.0.0.1, ::1) and unix sockets are exempt from
``no-tls``: that traffic never leaves the machine.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from dbenv.errors import ConfigError

if TYPE_CHECKING:
    from dbenv.config.model import Environment

Severity = Literal["error", "warning"]

__all__ = [
    "CheckReport",
    "Finding",
    "components_rule",
    "credentials_rule",
    "git_env_file_rules",
    "missing_variables_rule",
    "shared_database_rule",
    "tls_rule",
]

_LOOPBACK = {"localhost", "127.0.0.1", "::1", ""}
_TLS_MODES = {"require", "verify-ca", "verify-full"}
_EXAMPLE_SUFFIXES = {"example", "sample", "template", "dist", "defaults"}


@dataclass(frozen=True)
class Finding:
    """One problem: rule id, severity, environment (if any), what was found, the fix."""

    rule: str
    severity: Severity
    environment: str | None
    message: str
    fix: str
    path: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "environment": self.environment,
            "message": self.message,
            "fix": self.fix,
            "path": self.path,
            "line": self.line,
        }


@dataclass(frozen=True)
class CheckReport:
    """Every finding, plus notes on rules that were skipped and why."""

    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    files_scanned: int = 0

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": not self.errors,
            "environments": list(self.environments),
            "files_scanned": self.files_scanned,
            "findings": [f.as_dict() for f in self.findings],
            "notes": list(self.notes),
        }


# --- environments -----------------------------------------------------------------


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
    if env.database_url is None:
        return None
    parts = urlsplit(env.database_url.masked)
    query = parse_qs(parts.query)
    host = (parts.hostname or query.get("host", [""])[0]).lower()
    if host in _LOOPBACK or host.startswith("/"):
        host = "localhost"
    database = unquote(parts.path.lstrip("/")) or (parts.username or "")
    scope = ""
    if env.isolation == "schema":
        scope = f"schema:{env.schema or 'public'}"
    elif env.isolation == "prefix":
        scope = f"prefix:{env.prefix or ''}"
    return host, parts.port or 5432, database, scope


def _shared(a: Environment, b: Environment) -> bool:
    return b.name in a.shares_with or a.name in b.shares_with


def shared_database_rule(envs: Sequence[Environment]) -> list[Finding]:
    """Two environments on one server+database(+schema/prefix), not declared shared."""
    findings: list[Finding] = []
    targets = [(env, _target(env)) for env in envs]
    for i, (a, ta) in enumerate(targets):
        for b, tb in targets[i + 1 :]:
            if ta is None or ta != tb or _shared(a, b):
                continue
            host, port, database, scope = ta
            where = f"{host}:{port}/{database}" + (f" ({scope})" if scope else "")
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
    if env.database_url is not None:
        parts = urlsplit(env.database_url.masked)
        host = (parts.hostname or "").lower()
        mode = parse_qs(parts.query).get("sslmode", [""])[0].lower()
        if not (host in _LOOPBACK or host.startswith("/")) and mode not in _TLS_MODES:
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
        if parts.scheme == "redis" and host not in _LOOPBACK:
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
        url = plain.get("DATABASE_URL", ("", None))[0]
        target = _url_target(url) if url else None
        views.append(
            ComponentView(name, shown, selected, line, mask_url(url) if url else None, target)
        )
    return views


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _url_target(url: str) -> tuple[str, ...] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    host = "localhost" if host in _LOOPBACK else host
    return host, str(port), unquote(parts.path.lstrip("/"))


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


# --- files ------------------------------------------------------------------------


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def is_git_work_tree(root: Path) -> bool:
    done = _git(root, "rev-parse", "--is-inside-work-tree")
    return done is not None and done.returncode == 0 and done.stdout.strip() == b"true"


def _is_env_file_name(name: str) -> bool:
    if name != ".env" and not name.startswith(".env."):
        return False
    return name.rsplit(".", 1)[-1].lower() not in _EXAMPLE_SUFFIXES


def git_env_file_rules(root: Path, env_files: Iterable[Path]) -> list[Finding]:
    """``.env`` files that git tracks, and configured env files git does not ignore."""
    findings: list[Finding] = []
    listed = _git(root, "ls-files", "-z", "--cached", "--", ".")
    tracked = (
        [n for n in listed.stdout.decode("utf-8", "replace").split("\0") if n] if listed else []
    )
    for name in tracked:
        if _is_env_file_name(Path(name).name):
            findings.append(
                Finding(
                    "env-file-tracked",
                    "error",
                    None,
                    f"{name} is tracked by git; env files hold credentials and must stay local.",
                    f"Run `git rm --cached {name}`, add '.env*' and '!.env.example' to "
                    ".gitignore, and rotate any password it held.",
                    path=name,
                )
            )
    tracked_set = set(tracked)
    for path in sorted(set(env_files)):
        if not path.is_file():
            continue
        try:
            name = str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            continue
        ignored = _git(root, "check-ignore", "-q", "--", name)
        if name not in tracked_set and ignored is not None and ignored.returncode == 1:
            findings.append(
                Finding(
                    "env-file-not-ignored",
                    "warning",
                    None,
                    f"{name} is not ignored by git; one `git add .` would commit it.",
                    "Add '.env*' and '!.env.example' to .gitignore.",
                    path=name,
                )
            )
    return findings


def credentials_rule(leaks: Iterable[object]) -> list[Finding]:
    """A finding for every credential the scan found (already masked)."""
    from dbenv.scan import Leak

    findings: list[Finding] = []
    for leak in leaks:
        assert isinstance(leak, Leak)
        what = (
            f"a {leak.key} URL with an inline password"
            if leak.kind == "url-password"
            else f"a literal value for {leak.key}"
        )
        findings.append(
            Finding(
                "credential-in-file",
                "warning" if leak.local else "error",
                None,
                f"{leak.where}: {what}: {leak.excerpt}",
                "Move the secret into an ignored .env file or a secret reference "
                "(env:, file:, cmd:), and rotate it: it is in the history now.",
                path=str(leak.path),
                line=leak.line,
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
