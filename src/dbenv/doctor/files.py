"""The doctor's file rules: env files in git, and credentials written into files.

Git is asked from the work tree's root, so a tracked ``.env`` one directory above
the project file is found; outside a git work tree these rules are skipped and
the report says so. A credential's severity says why it matters: a password for a
host that a protected environment names (or a remote host no environment declares)
is an error; a loopback/development password, or one for a disposable
environment's host, a warning. Leaks come from ``dbenv.doctor.scan``, already masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dbenv.doctor.findings import Finding, Severity
from dbenv.doctor.scan import git, git_root, in_history, relative, scan_paths, tracked_files
from dbenv.doctor.scan_rules import file_kind
from dbenv.errors import UsageError

if TYPE_CHECKING:
    from dbenv.config.model import Environment
    from dbenv.doctor.scan import Leak, ScanResult

__all__ = [
    "HostIndex",
    "credentials_rule",
    "file_rules",
    "git_env_file_rules",
    "host_index",
    "is_git_work_tree",
]

_EXAMPLE_SUFFIXES = {"example", "sample", "template", "dist", "defaults", "tmpl", "tpl"}
_PRODUCTION_WORDS = {"prod", "production", "live", "staging", "stage", "preprod"}


@dataclass(frozen=True)
class HostIndex:
    """Which declared environments name each host, and which are protected."""

    hosts: Mapping[str, tuple[tuple[str, bool], ...]]  # host -> ((env, protected), ...)
    protected_names: frozenset[str] = frozenset()

    def owners(self, host: str) -> tuple[tuple[str, bool], ...]:
        """The environments naming ``host``; ``name…`` (cut short in prose) matches the
        declared hosts it abbreviates, protected environments first."""
        plain = host.lower().strip("[]")
        if not plain.endswith("\u2026"):
            return self.hosts.get(plain, ())
        stem = plain[:-1]
        found = [o for h, owners in self.hosts.items() if h.startswith(stem) for o in owners]
        return tuple(sorted(found, key=lambda owner: not owner[1]))


def host_index(envs: Iterable[Environment]) -> HostIndex:
    """The hosts of every environment's database and Redis URLs (read masked)."""
    hosts: dict[str, list[tuple[str, bool]]] = {}
    protected: set[str] = set()
    for env in envs:
        if not env.disposable:
            protected.add(env.name)
        for url in (env.database_url, env.redis_url):
            if url is None:
                continue
            host = (urlsplit(url.masked).hostname or "").lower()
            if host:
                hosts.setdefault(host, []).append((env.name, not env.disposable))
    return HostIndex({h: tuple(v) for h, v in hosts.items()}, frozenset(protected))


def is_git_work_tree(root: Path) -> bool:
    return git_root(root) is not None


def _is_env_file_name(name: str) -> bool:
    if name != ".env" and not name.startswith(".env."):
        return False
    return name.rsplit(".", 1)[-1].lower() not in _EXAMPLE_SUFFIXES


def _concerns(project_root: Path, path: Path) -> bool:
    """A file under the project, or in a directory above it (a monorepo's root .env)."""
    folder = path.parent.resolve()
    here = project_root.resolve()
    return folder == here or here in folder.parents or folder in here.parents


def git_env_file_rules(root: Path, env_files: Iterable[Path]) -> list[Finding]:
    """``.env`` files that git tracks, and configured env files git does not ignore."""
    top = git_root(root)
    if top is None:
        return []
    done = git(top, "ls-files", "-z", "--cached")
    names = done.stdout.decode("utf-8", "replace").split("\0") if done is not None else []
    tracked = {(top / n).resolve() for n in names if n}
    findings: list[Finding] = []
    for path in sorted(tracked):
        if _is_env_file_name(path.name) and _concerns(root, path):
            shown = relative(path, root)
            findings.append(
                Finding(
                    "env-file-tracked",
                    "error",
                    None,
                    f"{shown} is tracked by git; env files hold credentials and must stay local.",
                    f"Run `git rm --cached {shown}`, add '.env*' and '!.env.example' to "
                    ".gitignore, and rotate any password it held.",
                    path=str(shown),
                )
            )
    for path in sorted({p.resolve() for p in env_files}):
        if not path.is_file() or path in tracked:
            continue
        ignored = git(top, "check-ignore", "-q", "--", str(path))
        if ignored is not None and ignored.returncode == 1:
            shown = relative(path, root)
            findings.append(
                Finding(
                    "env-file-not-ignored",
                    "warning",
                    None,
                    f"{shown} is not ignored by git; one `git add .` would commit it.",
                    "Add '.env*' and '!.env.example' to .gitignore.",
                    path=str(shown),
                )
            )
    return findings


def _production_file(path: PurePath, index: HostIndex) -> str | None:
    """The protected environment an env file is named for (``.env.production``)."""
    name = path.name.lower()
    words = set(name.replace("-", ".").replace("_", ".").split("."))
    for env in sorted(index.protected_names):
        if env.lower() in words and name.startswith(".env"):
            return env
    hit = words & _PRODUCTION_WORDS
    return sorted(hit)[0] if hit and file_kind(path) == "env" else None


def _url_severity(leak: Leak, index: HostIndex) -> tuple[Severity, str]:
    host = leak.hit.host or ""
    owners = index.owners(host)
    protected = [name for name, is_protected in owners if is_protected]
    if protected:
        names = ", ".join(f"'{name}'" for name in dict.fromkeys(protected))
        plural = "s" if len(protected) > 1 else ""
        return "error", f"for {host}, the host of protected environment{plural} {names}"
    if owners:
        return "warning", f"for {host}, the host of disposable environment '{owners[0][0]}'"
    if leak.local:
        return "warning", f"for {host or 'a local socket'}, a development host"
    return "error", f"for {host}, a remote host no environment declares"


def _assignment_severity(leak: Leak, index: HostIndex) -> tuple[Severity, str]:
    kind = file_kind(leak.path)
    example = leak.path.name.rsplit(".", 1)[-1].lower() in _EXAMPLE_SUFFIXES
    named = None if example else _production_file(leak.path, index)
    if named:
        return "error", f"in an env file for '{named}'"
    if kind == "env" and not example:
        return "error", "in an env file"
    where = {"env": "an example env file", "docs": "a docs code block"}.get(kind, f"a {kind} file")
    return "warning", f"in {where}"


def _history_of(path: Path) -> str | bool | None:
    """The newest commit holding the file; None when git never had it; False when
    there is no git to ask."""
    top = git_root(path.parent)
    return False if top is None else in_history(top, path.resolve())


def credential_finding(
    leak: Leak,
    index: HostIndex,
    *,
    history: str | bool | None,
    verdict: str | None = None,
    rule: str = "credential-in-file",
) -> Finding:
    """One leak as a finding that says why: which rule, which host, which environment."""
    if leak.kind == "url-password":
        severity, why = _url_severity(leak, index)
        what = f"a {leak.key} URL with an inline password {why}"
    elif leak.kind == "pgpass-entry":
        severity, why = _url_severity(leak, index)
        what = f"a .pgpass entry with a password {why}"
    else:
        severity, why = _assignment_severity(leak, index)
        what = f"a literal value for {leak.key} {why}"
    rotate = "rotate it: " if severity == "error" else ""
    if leak.commit:
        tail = f"{rotate}commit {leak.commit[:10]} put it in git's history."
    elif isinstance(history, str):
        tail = f"{rotate}it is in git's history (commit {history})."
    elif history is None:
        tail = "git's history does not have it yet: keep it out."
    else:
        tail = "rotate it if it was ever shared."
    owners = [name for name, _ in index.owners(leak.hit.host or "")]
    checked = f" [verify: {verdict}]" if verdict else ""
    return Finding(
        rule,
        severity,
        owners[0] if owners else None,
        f"{leak.where}: {what}: {leak.excerpt}{checked}",
        "Move the secret into an ignored .env file or a secret reference "
        f"(env:, file:, cmd:); {tail} To accept a known one, put `dbenv: allow` in a "
        "comment on its line.",
        path=str(leak.path),
        line=leak.line,
        anchor=f"{leak.kind}:{leak.key}:{leak.excerpt}",
    )


def credentials_rule(
    leaks: Iterable[Leak],
    index: HostIndex | None = None,
    *,
    root: Path | None = None,
    verify: bool = False,
    rule: str = "credential-in-file",
) -> list[Finding]:
    """A finding for every credential the scan found (already masked).

    With ``root`` (what leak paths are relative to), the fix says whether git's history
    has the file (``git log --all``);
    with ``verify``, URL credentials for declared hosts are tried (``dbenv.doctor.verify``).
    """
    from dbenv.doctor.verify import leak_key, verify_leaks

    leaks = list(leaks)
    index = index or HostIndex({})
    verdicts = verify_leaks(leaks, index) if verify else {}
    history: dict[PurePath, str | bool | None] = {}
    findings = []
    for leak in leaks:
        if root is not None and leak.path not in history and leak.commit is None:
            history[leak.path] = _history_of(root / leak.path)
        findings.append(
            credential_finding(
                leak,
                index,
                history=history.get(leak.path, False),
                verdict=verdicts.get(leak_key(leak)),
                rule=rule,
            )
        )
    return findings


def _env_files(root: Path, envs: Sequence[Environment]) -> list[Path]:
    files = {root / ".env"}
    for env in envs:
        files.update(p if p.is_absolute() else root / p for p in env.env_files)
        files.update(p if p.is_absolute() else root / p for p in env.components.values())
    return sorted(files)


def file_rules(
    root: Path, envs: Sequence[Environment], scan: Sequence[Path], *, verify: bool = False
) -> tuple[list[Finding], list[str], int]:
    """The env-file rules and the credential scan (tracked files, or ``scan`` paths)."""
    findings: list[Finding] = []
    notes: list[str] = []
    git_here = is_git_work_tree(root)
    if git_here:
        findings += git_env_file_rules(root, _env_files(root, envs))
    else:
        notes.append(
            f"{root} is not in a git work tree: skipped env-file-tracked and env-file-not-ignored."
        )
    for path in scan:
        if not path.exists():
            raise UsageError(
                f"--scan path {path} does not exist.", hint="Give an existing file or directory."
            )
    result: ScanResult
    if scan:
        result = scan_paths(scan, root=root)
    elif git_here:
        result = scan_paths(tracked_files(root) or [], root=root)
    else:
        notes.append("no git-tracked files to scan for credentials; use --scan PATH to scan.")
        return findings, notes, 0
    findings += credentials_rule(result.leaks, host_index(envs), root=root, verify=verify)
    if result.summary():
        notes.append(result.summary() or "")
    return findings, notes, result.files_scanned
