"""What counts as a credential on one line of one file: the scan's two rules.

- ``url-password``: a password inside a connection URL of any database/broker scheme
  (``postgresql+asyncpg://app:s3cret@db.example.com/app``), in any text file.
- ``secret-assignment``: a literal assigned to a secret-like key (``PASSWORD``,
  ``*_SECRET``, ``*_TOKEN``, ``API_KEY``, ``SECRET_KEY``...) — only where a human or a
  program writes configuration: env files, compose/Kubernetes/YAML/TOML/JSON/INI
  config, shell scripts, and the config/shell code blocks of Markdown/reST docs.
  Source code is left to the URL rule: there ``INVALID_TOKEN = "invalid_token"``,
  ``storageKey: "theme"`` or a test's ``password="bla"`` are identifiers, constants
  and fixtures, not secrets (precision first: a noisy doctor gets switched off).

Not credentials: references and placeholders (``${VAR}``, ``${VAR?msg}``,
``${{ secrets.X }}``, ``%(x)s``, ``{{ .Values.x }}``, ``<password>``, ``changeme``,
``****``, ``xxx``, dbenv's ``env:``/``file:``/``cmd:``), self-describing example
values (``dev-secret-key-not-for-production``), keys with no value, and a well-known
default (``postgres:postgres``, ``guest:guest``) on a development host. A line (or
the line above it) carrying ``dbenv: allow`` is accepted as it is.

Severity is not decided here: a URL's host is kept, so the caller can tell a
loopback development password (a warning) from one for a protected environment's
host (an error). Nothing returned carries the secret, except ``Hit.secret_url``,
kept in memory only for the opt-in ``--verify``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal

from dbenv.config.masking import scrub
from dbenv.config.model import MASK

__all__ = [
    "ALLOW_MARK",
    "FileKind",
    "Hit",
    "file_kind",
    "host_class",
    "is_placeholder",
    "scan_lines",
]

FileKind = Literal["env", "config", "shell", "docs", "code", "other"]
HostClass = Literal["development", "example", "remote"]
LeakKind = Literal["url-password", "secret-assignment", "pgpass-entry"]

ALLOW_MARK = re.compile(r"dbenv:\s*allow\b", re.I)

_SCHEMES = (
    r"postgres(?:ql)?(?:\+[a-z0-9_]+)?|redis(?:\+[a-z0-9_]+)?|rediss|valkey|amqps?"
    r"|mysql(?:\+[a-z0-9_]+)?|mariadb(?:\+[a-z0-9_]+)?|mongodb(?:\+srv)?"
    r"|mssql(?:\+[a-z0-9_]+)?|sqlserver|cockroachdb(?:\+[a-z0-9_]+)?|clickhouse(?:\+[a-z0-9_]+)?"
    r"|oracle(?:\+[a-z0-9_]+)?|db2|memcached?|nats|kafka|ldaps?"
)
_URL = re.compile(
    rf"(?<![a-z0-9+.-])(?P<scheme>{_SCHEMES})://(?P<user>[^:/\s@'\"`<>]*):"
    r"(?P<secret>[^@/\s'\"`]*)@(?P<host>\[[0-9a-f:]+\]|[^\s/:'\"`?,;)]*)",
    re.IGNORECASE,
)
# key <sep> value: =, :, := ; the key may be quoted (JSON) or exported; a YAML list
# item (``- KEY=value``) and a Dockerfile ``ENV KEY=value`` are covered by the lookbehind.
_ASSIGNMENT = re.compile(
    r"""(?<![A-Za-z0-9_.$-])["']?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*"""
    r"""(?P<sep>:=|=|:)(?![=:/])[ \t]*(?=(?P<value>.*)$)"""
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SECRET_LAST = {"password", "passwd", "passphrase", "secret", "token", "apikey", "pass", "pwd"}
# ``*_KEY`` is a secret only after one of these (SECRET_KEY, API_KEY, PRIVATE_KEY...):
# ``storageKey``, ``SORT_KEY``, ``PUBLISHABLE_KEY``, ``accessorKey`` are not.
_KEY_QUALIFIERS = _words(
    "access admin api app auth client crypt encrypt encryption hmac jwt master private "
    "secret session signing webhook"
)
_NOT_SECRET_LAST_TWO = {("id", "token"), ("csrf", "token"), ("token", "secret")}
_PLACEHOLDER_WORDS = _words(
    "change-me change_me change_this changeme changethis dummy example false key nil none "
    "null optional pass passwd password placeholder pw pwd read redacted required secret "
    "str string tbd todo token true undefined value write"
) | {""}
_PLACEHOLDER_SHAPES = re.compile(
    r"""(?ix)^(
        .*\$\{.*                 # ${VAR}, ${VAR?msg}, ${{ secrets.X }}, ${VAR:-x}
      | \$[A-Za-z_(].*           # $VAR, $(command)
      | .*%\([^)]*\)[sd].*       # %(name)s
      | .*\{\{.*\}\}.*           # {{ .Values.x }}
      | \{[^}]*\}                # {name} (str.format / f-string)
      | .*<[^>]*>.*              # <password>, <your-token>
      | .*(\*{3}|x{3}|X{3}|\.{3}).*  # ****, xxx, sk_test_***, ...
      | (.)\2+                   # ----, 0000
      | (env|file|cmd|vault|op|ref|secret|secrets|sm|ssm|awssm|gcp|azure):.+  # references
    )$"""
)
# Words that make a key's literal value self-describing: an example, not a secret.
_EXAMPLE_WORDS = re.compile(
    r"(?i)(passw|secret|example|sample|dummy|fake|mock|placeholder|your|insecure|changeme"
    r"|change[_-]?(me|this)|replace|test|todo|not[_-]?(a[_-])?real|notreal|redacted)"
)
# Well-known defaults (image defaults, tutorials): not a secret anyone chose.
_DEFAULTS = _words(
    "123456 12345678 admin admin123 default dev development guest letmein local mongo "
    "mysql pass pass123 password123 postgres qwerty rabbitmq redis root sa test testing "
    "user"
)
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "", "host.docker.internal"}
_EXAMPLE_DOMAINS = re.compile(r"(?i)(^|\.)(example\.(com|org|net)|example|test|invalid)$")

_ENV_NAMES = re.compile(r"(?i)^(\.env(\..+)?|.+\.env|\.envrc|.+\.env\..+)$")
_CONFIG_SUFFIXES = _words(
    ".cfg .conf .env .envrc .hcl .ini .json .pgpass .properties .tfvars .toml .yaml .yml"
)
_CONFIG_NAMES = {"dockerfile", "containerfile", ".pgpass", "procfile"}
_SHELL_SUFFIXES = {".sh", ".bash", ".zsh", ".ksh", ".fish", ".ps1"}
_DOCS_SUFFIXES = {".md", ".markdown", ".rst", ".txt", ".adoc", ".mdx"}
_CODE_SUFFIXES = _words(
    ".c .cjs .cpp .cs .css .dart .erl .ex .exs .go .h .htm .html .java .js .jsx .kt .lua "
    ".mjs .php .py .pyi .rb .rs .scala .scss .sql .svelte .swift .ts .tsx .vue"
)
# Code-block languages whose lines are configuration or shell (the rest are code).
_CONFIG_FENCES = _words(
    "bash cfg conf console docker dockerfile dotenv env ini json jsonc plain plaintext "
    "powershell properties ps1 sh shell shell-session terminal text toml txt yaml yml zsh"
) | {""}
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*\{?\.?([A-Za-z0-9_+-]*)")
_RST_BLOCK = re.compile(r"^\s*\.\.\s+(code-block|code|sourcecode)::\s*([A-Za-z0-9_+-]*)")


_TEMPLATE = re.compile(r"[{}$<>%]")
_TEST_DIRS = {"tests", "test", "__tests__", "spec", "specs", "testing", "e2e"}
_TEST_NAMES = re.compile(r"(?i)^(test_.*|.*_test\.\w+|.*\.(test|spec)\.\w+|conftest\.py)$")


def is_test_code(path: PurePath) -> bool:
    """Source code of a test suite (tests/, test_*.py, *.spec.ts, conftest.py)."""
    if file_kind(path) != "code":
        return False
    return bool(_TEST_NAMES.match(path.name) or {p.lower() for p in path.parts} & _TEST_DIRS)


@dataclass(frozen=True)
class Hit:
    """One credential on one line: its rule, key (or URL scheme), host and masked line."""

    line: int
    kind: LeakKind
    key: str
    excerpt: str
    host: str | None = None  # url-password: the host the password is for
    host_class: HostClass | None = None
    # The whole URL, for ``--verify`` only: never shown, logged or written.
    secret_url: str | None = field(default=None, repr=False, compare=False)


def file_kind(path: PurePath) -> FileKind:
    """What a file is, from its name: the secret-assignment rule trusts only some kinds."""
    name = path.name.lower()
    suffix = path.suffix.lower()
    if _ENV_NAMES.match(name) and not name.endswith((".py", ".js", ".ts", ".md")):
        return "env"
    if suffix in _SHELL_SUFFIXES:
        return "shell"
    if suffix in _CONFIG_SUFFIXES or name in _CONFIG_NAMES or name.startswith("dockerfile"):
        return "config"
    if suffix in _DOCS_SUFFIXES or name in {"readme", "changelog"}:
        return "docs"
    if suffix in _CODE_SUFFIXES:
        return "code"
    return "other"


def is_placeholder(value: str) -> bool:
    """Whether a value is a stand-in or a reference rather than a credential."""
    plain = value.strip().strip("\"'`").strip()
    if plain.lower() in _PLACEHOLDER_WORDS or len(plain) <= 2:
        return True
    return bool(_PLACEHOLDER_SHAPES.match(plain))


def host_class(host: str) -> HostClass:
    """``development`` (loopback, a compose service name), ``example`` (RFC 2606) or
    ``remote``."""
    plain = host.lower().strip("[]")
    if host.lower() in _LOOPBACK or plain in _LOOPBACK or plain.startswith("/"):
        return "development"
    if plain.endswith((".localhost", ".local")) or plain.startswith("127."):
        return "development"
    if _EXAMPLE_DOMAINS.search(plain):
        return "example"
    if re.fullmatch(r"[a-z0-9_-]+", plain) and not plain.isdigit():
        return "development"  # a single label: a compose/CI service name (db, postgres)
    return "remote"


def is_secret_key(key: str) -> bool:
    """``DB_PASSWORD``, ``jwtSecret``, ``API_KEY``, ``secret_key``; not ``storageKey``,
    ``id-token``, ``SORT_KEY``, ``PASSWORD_MIN_LENGTH``."""
    words = [w.lower() for w in _WORDS.findall(key)]
    if not words:
        return False
    last = words[-1]
    if len(words) >= 2 and (words[-2], last) in _NOT_SECRET_LAST_TWO:
        return False
    if last in {"pass", "pwd"} and len(words) == 1:
        return False  # a shell's $PWD, a bare ``pass``
    if last in _SECRET_LAST or last.endswith(("password", "passwd", "apikey")):
        return True  # DB_PASSWORD, and PGPASSWORD / MYSQLPASSWORD written as one word
    return last == "key" and len(words) >= 2 and words[-2] in _KEY_QUALIFIERS


def _mask_spans(line: str, spans: list[tuple[int, int]]) -> str:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    masked = line
    for start, end in reversed(merged):
        masked = masked[:start] + MASK + masked[end:]
    masked = scrub(masked.strip(), ())
    return masked if len(masked) <= 160 else masked[:157] + "..."


def _url_hits(
    line: str, *, test_code: bool = False
) -> Iterator[tuple[tuple[int, int], str, str, HostClass, str]]:
    for match in _URL.finditer(line):
        secret, user = match.group("secret"), match.group("user")
        if is_placeholder(secret) or _TEMPLATE.search(user + match.group("host")):
            continue  # a reference, or a URL built from a template (f"{user}@{host}")
        written = match.group("host").lower()
        host = written.rstrip(".")
        kind = host_class(host)
        if written.endswith(".."):
            # ``ls-3a6b051...``: a name cut short in prose is some server's, not a service
            # name; the ellipsis lets it match a declared host it abbreviates.
            host, kind = host + "\u2026", "remote"
        if kind == "example":
            continue  # documentation: db.example.com is nobody's server
        if kind == "development" and (secret.lower() in _DEFAULTS or secret == user):
            continue  # postgres:postgres@db, guest:guest@localhost: image defaults
        if kind == "development" and test_code:
            continue  # a test's fixture for its own throwaway server
        end = _url_end(line, match.end())
        yield (
            match.span("secret"),
            match.group("scheme").lower(),
            host,
            kind,
            line[match.start() : end],
        )


def _url_end(line: str, start: int) -> int:
    stop = re.compile(r"[\s'\"`<>)\]]")
    found = stop.search(line, start)
    return found.start() if found else len(line)


def _literal(value: str, sep: str) -> tuple[str, int] | None:
    """The literal a key is assigned, and its offset in ``value``; None for no literal."""
    value = value.rstrip()
    if not value:
        return None
    if value[0] in "\"'`":
        quote = value[0]
        end = value.find(quote, 1)
        return (value[1:end], 1) if end > 0 else None
    if sep == ":":  # YAML: the rest of the line, less a trailing comment
        text = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        if text.startswith(("[", "{", "&", "*", "|", ">", "!")):
            return None  # a list, a mapping, an anchor, a block scalar, a tag
        return (text.rstrip(","), 0)
    text = re.split(r"[\s;#]", value, maxsplit=1)[0]
    return (text.rstrip(","), 0)


def _example_value(plain: str) -> bool:
    lowered = plain.lower()
    if lowered in _DEFAULTS or _EXAMPLE_WORDS.search(plain):
        return True
    if plain.startswith(("/", "./", "~/")) or "://" in plain:
        return True  # a path to a secret file; URLs are judged by the URL rule
    words = re.split(r"[-_]", plain)
    if len([w for w in words if re.fullmatch(r"[a-z]{2,}", w)]) >= 4:
        return True  # a phrase describing the value (ultra-secure-production-key-from-openssl)
    if re.fullmatch(r"\d{1,7}|[\d.]+", plain):
        return True  # a number (a length, a port, a version)
    return bool(re.search(r"[()\[\]]", plain))  # an expression, a call, a list


def _assignment_hits(line: str) -> Iterator[tuple[tuple[int, int], str, bool]]:
    """Each secret-like key's literal: its span, the key, and whether it is a finding
    (the others are masked all the same when the line is shown)."""
    for match in _ASSIGNMENT.finditer(line):
        key = match.group("key")
        if not is_secret_key(key):
            continue
        found = _literal(match.group("value"), match.group("sep"))
        if found is None or not found[0]:
            continue
        plain, offset = found
        counts = not (is_placeholder(plain) or _example_value(plain) or len(plain) < 4)
        start = match.start("value") + offset
        yield (start, start + len(plain)), key, counts


def _fence_languages(lines: list[str], kind: FileKind) -> list[str | None]:
    """Per line of a docs file: the language of the code block it is in, or None."""
    if kind != "docs":
        return [None] * len(lines)
    result: list[str | None] = []
    fence: str | None = None  # a Markdown fence (``` or ~~~) being inside
    rst: str | None = None  # a reST code-block's language, while its body lasts
    language = ""
    for line in lines:
        opened = _FENCE.match(line)
        if fence is not None:
            closing = line.strip().startswith(fence[:3])
            result.append(None if closing else language)
            fence = None if closing else fence
            continue
        if opened:
            fence, language = opened.group(1), opened.group(2).lower()
            result.append(None)
            continue
        directive = _RST_BLOCK.match(line)
        if directive:
            rst = directive.group(2).lower()
            result.append(None)
            continue
        if rst is not None and line.strip() and not line[:1].isspace():
            rst = None  # an unindented line ends the reST block
        result.append(rst)
    return result


def _assignments_apply(kind: FileKind, language: str | None) -> bool:
    if kind in {"env", "config", "shell"}:
        return True
    return kind == "docs" and language is not None and language in _CONFIG_FENCES


_PGPASS_NAMES = {".pgpass", "pgpass", "pgpass.conf"}
_PGPASS_SEP = re.compile(r"(?<!\\):")


def _pgpass_hits(text: str) -> Iterator[Hit]:
    """``host:port:database:user:password`` lines of a libpq password file."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#") or ALLOW_MARK.search(line):
            continue
        fields = _PGPASS_SEP.split(line)
        if len(fields) != 5 or is_placeholder(fields[4]):
            continue
        host = fields[0].lower()
        start = len(":".join(fields[:4])) + 1
        excerpt = _mask_spans(line, [(start, len(line))])
        kind = "remote" if host == "*" else host_class(host)
        yield Hit(number, "pgpass-entry", ".pgpass", excerpt, host, kind)


def scan_lines(text: str, path: PurePath) -> Iterator[Hit]:
    """Every credential in one file's text, with its 1-based line, masked."""
    if path.name.lower() in _PGPASS_NAMES:
        yield from _pgpass_hits(text)
        return
    kind = file_kind(path)
    test_code = is_test_code(path)
    lines = text.splitlines()
    languages = _fence_languages(lines, kind)
    previous = ""
    for number, line in enumerate(lines, start=1):
        allowed = ALLOW_MARK.search(line) or ALLOW_MARK.search(previous)
        previous = line
        if allowed:
            continue
        urls = list(_url_hits(line, test_code=test_code))
        literals = list(_assignment_hits(line))
        applies = _assignments_apply(kind, languages[number - 1])
        url_spans = [span for span, *_ in urls]
        keys = [
            (span, key)
            for span, key, counts in literals
            if counts
            and applies
            and not any(s[0] >= span[0] and s[1] <= span[1] for s in url_spans)
        ]
        if not urls and not keys:
            continue
        excerpt = _mask_spans(line, url_spans + [span for span, _, _ in literals])
        for _span, scheme, host, hclass, url in urls:
            yield Hit(number, "url-password", scheme, excerpt, host, hclass, secret_url=url)
        for _span, key in keys:
            yield Hit(number, "secret-assignment", key, excerpt)
