"""The credential scan: find passwords written into text files, and report them masked.

Two kinds of leak are found, in code, configuration and Markdown alike:

- a database/Redis/AMQP URL with an inline password
  (``postgresql://user:s3cret@host/db``);
- an assignment of a literal value to a secret-named key (``DB_PASSWORD=...``,
  ``api_key: ...``, ``SECRET = "..."``) in shell, ``.env``, YAML, TOML, JSON,
  Python or JavaScript form.

Placeholders (``changeme``, ``${VAR}``, ``$VAR``, ``****``, ``<password>``, ``xxx``,
``...``, empty, dbenv's own ``env:``/``file:``/``cmd:`` references) are not leaks.
A reported line never carries the secret: it is masked before it leaves this module.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dbenv.config.masking import scrub
from dbenv.config.model import MASK

__all__ = [
    "Leak",
    "ScanResult",
    "is_placeholder",
    "scan_paths",
    "scan_text",
    "tracked_files",
]

LeakKind = Literal["url-password", "secret-assignment"]

_DB_SCHEMES = (
    r"postgres(?:ql)?(?:\+[a-z0-9_]+)?|redis|rediss|amqps?|mysql(?:\+[a-z0-9_]+)?|mariadb"
    r"|mongodb(?:\+srv)?|mssql(?:\+[a-z0-9_]+)?|sqlserver|cockroachdb|clickhouse"
)
_URL = re.compile(
    rf"(?<![a-z0-9+.-])(?P<scheme>{_DB_SCHEMES})://(?P<user>[^:/\s@'\"`]*):"
    r"(?P<secret>[^@/\s'\"`]*)@(?P<host>[^\s/:'\"`?]*)",
    re.IGNORECASE,
)
# key <sep> value, where <sep> is =, :, := and the key may be quoted (JSON) or exported.
_ASSIGNMENT = re.compile(
    r"""(?<![A-Za-z0-9_.-])["']?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*"""
    r"""(?P<sep>:=|=|:)(?!=)[ \t]*"""
    r"""(?P<value>"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|`[^`\n]*`|[^\s,;#]*)"""
)
_SECRET_WORD = re.compile(r"(?i)(?:^|[_.-])(?:password|passwd|pwd|pass|secret|key|token)$")
_SECRET_CAMEL = re.compile(r"[a-z0-9](?:Password|Passwd|Secret|Key|Token)$")
# Keys that name an identifier, not a credential: a bare ``key`` (a slug, a dict key)
# and the database/caching vocabulary that ends in _key.
_NOT_SECRET_KEYS = re.compile(
    r"(?i)^(key|(primary|foreign|sort|partition|cache|unique|natural|lookup|idempotency"
    r"|row|hash|range|public|group|dedupe|dedup|routing|message|i18n|translation)[_.-]?key)$"
)
_PLACEHOLDER_WORDS = {
    "",
    "changeme",
    "change_me",
    "change-me",
    "password",
    "passwd",
    "secret",
    "none",
    "null",
    "nil",
    "true",
    "false",
    "undefined",
    "todo",
    "tbd",
    "redacted",
    "placeholder",
    "example",
    "dummy",
    "str",
    "string",
}
_PLACEHOLDER_SHAPES = re.compile(
    r"""(?ix)^(
        \$\{[^}]*\}.*          # ${VAR} / ${VAR:-x}
      | \$[A-Za-z_(][^ ]*      # $VAR, $(command)
      | %\([^)]*\)s            # %(name)s
      | \{\{.*\}\}             # {{ template }}
      | \{[^}]*\}              # {name} (str.format / f-string)
      | <[^>]*>                # <password>
      | (.)\2+                 # xxx, ****, ..., ----
      | (env|file|cmd):.+      # dbenv secret references
      | .*(changeme|change_me|your[_-]|example|placeholder|redacted).*
    )$"""
)
# Files scanned only when their suffix or name says they are text.
_CODE_SUFFIXES = {".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".rb", ".go", ".java"}
_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Leak:
    """One credential found in a file. ``excerpt`` is the line with the secret masked."""

    path: Path
    line: int
    kind: LeakKind
    key: str  # the variable name, or the URL scheme
    excerpt: str
    local: bool = False  # a URL pointing at localhost: a development password

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class ScanResult:
    """What a scan found, how many files it read, and what it skipped and why."""

    leaks: tuple[Leak, ...] = ()
    files_scanned: int = 0
    skipped: tuple[tuple[Path, str], ...] = field(default=())


def is_placeholder(value: str) -> bool:
    """Whether a value is a stand-in rather than a real credential."""
    plain = value.strip().strip("\"'`").strip()
    if plain.lower() in _PLACEHOLDER_WORDS or len(plain) <= 2:
        return True
    return bool(_PLACEHOLDER_SHAPES.match(plain))


def _is_secret_key(key: str) -> bool:
    if _NOT_SECRET_KEYS.match(key):
        return False
    return bool(_SECRET_WORD.search(key) or _SECRET_CAMEL.search(key))


def _excerpt(line: str, secrets: Iterable[str]) -> str:
    masked = line.strip()
    for plain in sorted(set(secrets), key=len, reverse=True):
        masked = masked.replace(plain, MASK)
    masked = scrub(masked, ())
    return masked if len(masked) <= 160 else masked[:157] + "..."


def _url_leaks(line: str) -> Iterator[tuple[str, str, bool]]:
    for match in _URL.finditer(line):
        secret = match.group("secret")
        if is_placeholder(secret):
            continue
        host = match.group("host").lower()
        local = host in {"localhost", "127.0.0.1", "[::1]", ""}
        yield match.group("scheme").lower(), secret, local


def _assignment_leaks(line: str, *, code: bool) -> Iterator[tuple[str, str]]:
    for match in _ASSIGNMENT.finditer(line):
        key, value = match.group("key"), match.group("value")
        if not _is_secret_key(key):
            continue
        quoted = value[:1] in {'"', "'", "`"}
        if code and not quoted:
            continue  # an expression (os.environ[...], a call, a name), not a literal
        plain = value[1:-1] if quoted else value
        if "://" in plain or is_placeholder(plain):
            continue  # URLs are judged by the URL rule
        if not quoted and not re.fullmatch(r"[^\s()\[\]]+", plain):
            continue
        yield key, plain


def scan_text(text: str, path: Path) -> list[Leak]:
    """Every leak in one file's text, each with its 1-based line and the secret masked."""
    code = path.suffix.lower() in _CODE_SUFFIXES
    leaks: list[Leak] = []
    for number, line in enumerate(text.splitlines(), start=1):
        found: list[tuple[LeakKind, str, str, bool]] = [
            ("url-password", scheme, secret, local) for scheme, secret, local in _url_leaks(line)
        ]
        found += [
            ("secret-assignment", key, secret, False)
            for key, secret in _assignment_leaks(line, code=code)
        ]
        if not found:
            continue
        excerpt = _excerpt(line, [secret for _, _, secret, _ in found])
        for kind, key, _secret, local in found:
            leaks.append(Leak(path, number, kind, key, excerpt, local=local))
    return leaks


def _read_text(path: Path) -> tuple[str | None, str]:
    try:
        if path.stat().st_size > _MAX_BYTES:
            return None, "larger than 1 MB"
        data = path.read_bytes()
    except OSError as error:
        return None, f"unreadable ({error.strerror or error})"
    if b"\0" in data[:8192]:
        return None, "binary"
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        return data.decode("latin-1"), ""


def _expand(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                parts = set(child.relative_to(path).parts)
                if child.is_file() and not parts & {".git", ".venv", "node_modules", "__pycache__"}:
                    yield child
        else:
            yield path


def scan_paths(paths: Iterable[Path], *, root: Path | None = None) -> ScanResult:
    """Scan files and directories (recursively); paths are reported relative to ``root``."""
    leaks: list[Leak] = []
    skipped: list[tuple[Path, str]] = []
    scanned = 0
    for path in _expand(paths):
        shown = _relative(path, root)
        text, reason = _read_text(path)
        if text is None:
            skipped.append((shown, reason))
            continue
        scanned += 1
        leaks.extend(scan_text(text, shown))
    return ScanResult(tuple(leaks), scanned, tuple(skipped))


def _relative(path: Path, root: Path | None) -> Path:
    if root is None:
        return path
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return path


def tracked_files(root: Path) -> list[Path] | None:
    """The files git tracks under ``root`` (absolute), or ``None`` outside a git work tree."""
    try:
        completed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--", "."],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    names = completed.stdout.decode("utf-8", "replace").split("\0")
    return [root / name for name in names if name and (root / name).is_file()]
