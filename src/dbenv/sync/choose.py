"""Choosing the profile a sync runs: by name, by source and target, or from ``--tables``;
then narrowing it with ``--tables`` and ``--structure-only``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dbenv.errors import UsageError
from dbenv.sync.profiles import Pattern, Profile, SyncSettings, parse_pattern

__all__ = ["choose_profile", "parse_where", "restrict"]


def choose_profile(
    settings: SyncSettings,
    source: str,
    target: str,
    *,
    name: str | None,
    tables: tuple[str, ...] = (),
) -> Profile:
    """The profile to run: the named one, the only one for source→target, or ``--tables``."""
    if name is not None:
        if name not in settings.profiles:
            known = ", ".join(sorted(settings.profiles)) or "none"
            raise UsageError(
                f"no sync profile named '{name}'; declared: {known}.",
                hint="Declare it under [sync.profiles.NAME] in dbenv.toml.",
            )
        profile = settings.profiles[name]
        for end, wanted in (("source", source), ("target", target)):
            declared = getattr(profile, end)
            if declared is not None and declared != wanted:
                raise UsageError(
                    f"sync profile '{name}' is for {end} '{declared}', not '{wanted}'.",
                    hint=f"Run: dbenv sync {profile.source or source} {profile.target or target}"
                    f" --profile {name}.",
                )
        return profile
    fitting = [p for p in settings.profiles.values() if p.source == source and p.target == target]
    if len(fitting) == 1 and not tables:
        return fitting[0]
    if tables:
        masks = fitting[0].masks if len(fitting) == 1 else ()
        patterns = []
        for text in tables:
            pattern = parse_pattern(text, 2)
            if pattern is None:
                raise UsageError(
                    f"--tables '{text}' is not a 'schema.table' pattern.",
                    hint='e.g. --tables public.prompts or --tables "project_*.*".',
                )
            patterns.append(pattern)
        return Profile(
            name="--tables", source=source, target=target, mirror=tuple(patterns), masks=masks
        )
    if not fitting:
        raise UsageError(
            f"no sync profile goes from '{source}' to '{target}'.",
            hint="Name tables with --tables, or declare [sync.profiles.NAME] with that"
            " source and target.",
        )
    names = ", ".join(sorted(p.name for p in fitting))
    raise UsageError(
        f"several sync profiles go from '{source}' to '{target}': {names}.",
        hint="Choose one with --profile NAME.",
    )


def parse_where(texts: tuple[str, ...]) -> dict[str, str]:
    """``--where TABLE=CONDITION`` options -> ``{"schema.table": condition}``."""
    filters: dict[str, str] = {}
    for text in texts:
        table, sep, condition = text.partition("=")
        pattern = parse_pattern(table.strip(), 2)
        if not sep or pattern is None or not condition.strip() or ";" in condition:
            raise UsageError(
                f"--where '{text}' is not TABLE=CONDITION (one table, one SQL boolean expression).",
                hint='e.g. --where "public.prompts=id <= 1000" (repeat it for more tables).',
            )
        if any(ch in table for ch in "*?["):
            raise UsageError(
                f"--where '{text}' names a pattern; a where filter applies to one table.",
                hint='Name one table, e.g. --where "public.prompts=active".',
            )
        filters[".".join(pattern.parts)] = condition.strip()
    return filters


def restrict(
    profile: Profile,
    *,
    tables: tuple[str, ...],
    structure_only: tuple[str, ...],
    where: Mapping[str, str] | None = None,
) -> Profile:
    """Apply ``--tables`` (only these of the profile), ``--structure-only`` and ``--where``."""

    def parsed(values: tuple[str, ...], flag: str) -> tuple[Pattern, ...]:
        out = []
        for text in values:
            pattern = parse_pattern(text, 2)
            if pattern is None:
                raise UsageError(
                    f"{flag} '{text}' is not a 'schema.table' pattern.",
                    hint='e.g. "public.prompts" or "project_*.*".',
                )
            out.append(pattern)
        return tuple(out)

    result = profile
    only = parsed(tables, "--tables")
    if only and profile.name != "--tables":
        result = replace(
            result,
            mirror=tuple(replace(p, within=only) for p in result.mirror),
            structure=tuple(replace(p, within=only) for p in result.structure),
        )
    forced = parsed(structure_only, "--structure-only")
    if forced:
        result = replace(
            result,
            structure=forced + result.structure,
            mirror=tuple(replace(p, unless=forced) for p in result.mirror),
        )
    if where:
        result = replace(result, where={**result.where, **where})
    return result
