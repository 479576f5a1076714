"""Configuration verbs: ``init``, ``envs``, ``config show``, ``config get``, ``run``, ``check``.

Each takes resolved objects and returns a result dataclass; none prints. Values in
results are already masked, except where a caller asked to reveal one (``config
get --reveal``, ``run``): revealing goes through the ``reveal`` callable the
caller passes, so the CLI can remember every plain value it must scrub from output.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dbenv.config.masking import mask_value
from dbenv.config.model import MASK, Environment, Secret, Setting
from dbenv.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from dbenv.config import Project
    from dbenv.doctor.findings import CheckReport

__all__ = [
    "ConfigShowResult",
    "EnvRow",
    "EnvsResult",
    "GetResult",
    "InitResult",
    "RunResult",
    "ShownValue",
    "check",
    "config_get",
    "config_show",
    "envs",
    "init",
    "run",
]

Revealer = Callable[[Secret], str]


def _reveal(secret: Secret) -> str:
    return secret.reveal()


# --- init -------------------------------------------------------------------------


@dataclass(frozen=True)
class InitResult:
    """The files ``init`` wrote or changed, and those it left alone."""

    root: Path
    written: tuple[Path, ...]
    skipped: tuple[Path, ...]
    gitignore_added: tuple[str, ...]


def init(root: Path, *, name: str | None = None) -> InitResult:
    """Write dbenv.toml, .env.example and .gitignore entries; never overwrite dbenv.toml."""
    from dbenv.commands.init_template import (
        ENV_EXAMPLE,
        GITIGNORE_LINES,
        extend_gitignore,
        project_file,
        project_name,
    )

    root = root.resolve()
    if not root.is_dir():
        raise UsageError(
            f"{root} is not a directory.", hint="Run `dbenv init` inside your project."
        )
    target = root / "dbenv.toml"
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.dbenv" in pyproject.read_text(encoding="utf-8"):
        target = pyproject
    if target.exists():
        raise UsageError(
            f"{target} already declares this project; dbenv init never overwrites a project file.",
            hint="Edit it, or move it away first to start over.",
        )
    chosen = name or project_name(root)
    target.write_text(project_file(chosen), encoding="utf-8")
    written, skipped = [target], []
    example = root / ".env.example"
    if example.exists():
        skipped.append(example)
    else:
        example.write_text(ENV_EXAMPLE, encoding="utf-8")
        written.append(example)
    added = extend_gitignore(root / ".gitignore", GITIGNORE_LINES)
    return InitResult(root, tuple(written), tuple(skipped), added)


# --- envs -------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvRow:
    """One environment as ``dbenv envs`` lists it (target masked)."""

    name: str
    tier: str
    isolation: str
    target: str
    redis: str
    active: bool
    error: str | None = None


@dataclass(frozen=True)
class EnvsResult:
    project: str
    active: str | None  # None: nothing selects one (no selector set, no default)
    rows: tuple[EnvRow, ...]

    @property
    def failed(self) -> tuple[EnvRow, ...]:
        return tuple(row for row in self.rows if row.error)


def _target_text(env: Environment) -> str:
    if env.database_url is not None:
        text = env.database_url.masked
    elif env.server == "local":
        text = "local stack (not running)"
    else:
        text = "-"
    if env.isolation == "schema":
        text += f" [schema {env.schema or env.name}]"
    elif env.isolation == "prefix":
        text += f" [prefix {env.prefix or ''}]"
    return text


def _redis_text(env: Environment) -> str:
    if env.redis_url is None:
        return "-"
    text = env.redis_url.masked
    if env.redis_db is not None:
        text += f" [db {env.redis_db}]"
    if env.redis_prefix:
        text += f" [prefix {env.redis_prefix}]"
    return text


def envs(project: Project) -> EnvsResult:
    """Every declared environment with its tier, isolation and masked targets."""
    active = project.selected_name()
    rows: list[EnvRow] = []
    for name in project.environment_names:
        try:
            env = project.environment(name)
        except ConfigError as error:
            rows.append(EnvRow(name, "?", "?", "?", "?", name == active, error=str(error)))
            continue
        rows.append(
            EnvRow(
                name,
                env.tier,
                env.isolation,
                _target_text(env),
                _redis_text(env),
                name == active,
            )
        )
    return EnvsResult(project.name, active, tuple(rows))


# --- config show / get ------------------------------------------------------------


@dataclass(frozen=True)
class ShownValue:
    """A setting or variable as it may be shown: masked, with its origin."""

    key: str
    value: str
    origin: str
    secret: bool
    parts: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"value": self.value, "origin": self.origin}
        if self.secret:
            data["secret"] = True
        if self.parts:
            data["parts"] = {name: origin for name, origin in self.parts}
        return data


@dataclass(frozen=True)
class ConfigShowResult:
    project: str
    environment: str
    active: bool
    settings: tuple[ShownValue, ...]
    variables: tuple[ShownValue, ...]
    # what `dbenv run` sets besides the variables: selectors and targets (masked)
    exports: tuple[ShownValue, ...] = ()

    def as_dict(self, *, origin: bool = True) -> dict[str, object]:
        def values(items: tuple[ShownValue, ...]) -> dict[str, object]:
            return {v.key: v.as_dict() if origin else v.value for v in items}

        return {
            "project": self.project,
            "environment": self.environment,
            "active": self.active,
            "layers": list(LAYERS),
            "settings": values(self.settings),
            "variables": values(self.variables),
            "exports": values(self.exports),
        }


# The variable layers, lowest first (dbenv.config.variables; docs/configuration.md).
LAYERS = (
    "[vars]",
    "project env files (.env)",
    "[environments.<name>.vars]",
    "environment env files (.env.<name>)",
    "process environment",
    "arguments (--set)",
)


def _display(setting: Setting) -> tuple[str, bool]:
    value = setting.value
    if isinstance(value, Secret):
        return value.masked, True
    if setting.secret:
        return MASK, True
    if isinstance(value, tuple | list):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, Mapping):
        # a list value (selector_values = { ENVIRONMENT = ["local", "testing"] }) as a|b
        text = ", ".join(
            f"{k}={'|'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in value.items()
        )
    else:
        text = "" if value is None else str(value)
    shown = mask_value(setting.key, text)
    return shown, shown != text


def _shown(setting: Setting) -> ShownValue:
    text, secret = _display(setting)
    parts = tuple((name, str(origin)) for name, origin in setting.parts)
    return ShownValue(setting.key, text, str(setting.origin), secret, parts)


def _environment(project: Project, name: str | None) -> Environment:
    if name is not None and name not in project.environment_names:
        project.environment(name)  # raises UnknownEnvironment with its suggestion
    return project.environment(name)


def _exports(env: Environment) -> tuple[ShownValue, ...]:
    """Selectors and target variables as ``dbenv run`` sets them, masked."""
    from dbenv.config.exports import masked_target_values

    shown = [ShownValue(s, env.selector_value(s), "selector", False) for s in env.selectors]
    for key, value in masked_target_values(env).items():
        form = env.export_forms[key]
        secret = MASK in value
        shown.append(ShownValue(key, value, f"form {form} (wins over the layers)", secret))
    return tuple(shown)


def config_show(project: Project, name: str | None = None) -> ConfigShowResult:
    """An environment's settings, variables and exports, masked, each with its origin."""
    env = _environment(project, name)
    return ConfigShowResult(
        project.name,
        env.name,
        env.name == project.selected_name(),
        tuple(_shown(s) for _, s in sorted(env.settings.items())),
        tuple(_shown(s) for _, s in sorted(env.variables.items())),
        _exports(env),
    )


@dataclass(frozen=True)
class GetResult:
    """One value; ``revealed`` says ``value`` is the plain text of a secret."""

    environment: str
    key: str
    value: str
    origin: str
    secret: bool
    revealed: bool


def _lookup(env: Environment, key: str) -> Setting:
    if key in env.variables:
        return env.variables[key]
    if key.lower() in env.settings:
        return env.settings[key.lower()]
    known = sorted({*env.variables, *(k.upper() for k in env.settings)})
    import difflib

    close = difflib.get_close_matches(key.upper(), known, n=1)
    hint = f"Did you mean '{close[0]}'? " if close else ""
    raise UsageError(
        f"'{key}' is neither a variable nor a setting of environment '{env.name}'.",
        hint=hint + f"See `dbenv config show {env.name}` for what is defined.",
    )


def config_get(
    project: Project, name: str, key: str, *, reveal: bool = False, revealer: Revealer = _reveal
) -> GetResult:
    """One variable or setting of an environment: masked, or plain with ``reveal``."""
    env = _environment(project, name)
    if key in env.export_forms and key not in env.variables:
        return _exported_value(env, key, reveal=reveal, revealer=revealer)
    setting = _lookup(env, key)
    text, secret = _display(setting)
    if reveal and secret:
        value = setting.value
        text = revealer(value) if isinstance(value, Secret) else str(value)
        return GetResult(env.name, setting.key, text, str(setting.origin), True, True)
    return GetResult(env.name, setting.key, text, str(setting.origin), secret, False)


def _exported_value(env: Environment, key: str, *, reveal: bool, revealer: Revealer) -> GetResult:
    """An exported target variable (``POSTGRES_SERVER``) as ``dbenv run`` would set it."""
    from dbenv.config.exports import masked_target_values, target_values

    origin = f"form {env.export_forms[key]}"
    shown = masked_target_values(env).get(key)
    if shown is None:
        raise UsageError(
            f"'{key}' is exported as {origin}, but environment '{env.name}' has no such target.",
            hint=f"See `dbenv config show {env.name}` for what it exports.",
        )
    secret = MASK in shown
    if reveal and secret:
        return GetResult(env.name, key, target_values(env, revealer)[key], origin, True, True)
    return GetResult(env.name, key, shown, origin, secret, False)


# --- run --------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    environment: str
    command: tuple[str, ...]
    exit_code: int
    exported: tuple[str, ...]  # names of the variables given to the child


def child_environment(
    env: Environment, base: Mapping[str, str], *, revealer: Revealer = _reveal
) -> dict[str, str]:
    """``base`` plus what ``dbenv.config.exports.exported`` gives ``env`` (which wins)."""
    from dbenv.config.exports import exported

    return {**base, **exported(env, revealer)}


def _wait(process: subprocess.Popen[bytes]) -> int:
    """The child's exit status; Ctrl-C reaches the child too, so dbenv waits it out."""
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


def run(
    project: Project,
    name: str,
    command: Sequence[str],
    *,
    revealer: Revealer = _reveal,
    base: Mapping[str, str] | None = None,
) -> RunResult:
    """Run ``command`` with the environment's variables; its exit code is the result's."""
    from dbenv.doctor.check import missing_variables

    if not command:
        raise UsageError(
            "no command given to run.", hint=f"Write it after '--': dbenv run {name} -- CMD ..."
        )
    env = _environment(project, name)
    missing = missing_variables(env)
    if missing:
        from dbenv.errors import MissingVariables

        raise MissingVariables(env.name, list(missing))
    inherited = project.process_env if base is None else base
    child = child_environment(env, inherited, revealer=revealer)
    try:
        process = subprocess.Popen(list(command), env=child)
    except FileNotFoundError:
        raise UsageError(
            f"command '{command[0]}' was not found.",
            hint="Check its spelling and that it is on PATH.",
        ) from None
    except PermissionError:
        raise UsageError(
            f"command '{command[0]}' is not executable.", hint="Check its permissions."
        ) from None
    code = _wait(process)
    exit_code = 128 - code if code < 0 else code  # killed by a signal: the shell's 128+N
    exported = tuple(sorted(set(child) - set(inherited) | set(env.variables)))
    return RunResult(env.name, tuple(command), exit_code, exported)


# --- check ------------------------------------------------------------------------


def check(
    project: Project,
    names: Sequence[str] = (),
    *,
    scan: Sequence[Path] = (),
    verify: bool = False,
    stamps: bool = False,
) -> CheckReport:
    """The doctor: every rule of ``dbenv.doctor.check`` over the named (default: all) environments.

    ``stamps``: read each environment's stamp to compare its tier (connects).
    """
    from dbenv.doctor.check import run_checks

    for name in names:
        if name not in project.environment_names:
            project.environment(name)  # raises UnknownEnvironment with a suggestion
    return run_checks(project, names=names, scan=scan, verify=verify, stamps=stamps)
