"""Configuration: the only part of dbenv that reads project files, env files and os.environ.

``load_project`` resolves a project file plus its layers into a ``Project``;
``Project.environment(name)`` gives a frozen ``Environment`` whose every value
knows its origin. See docs/configuration.md.
"""

from __future__ import annotations

from dbenv.config.model import (
    MASK,
    Environment,
    LocalSettings,
    Origin,
    Secret,
    SecretURL,
    Setting,
)
from dbenv.config.project import Project, load_project
from dbenv.config.settings import override_name
from dbenv.config.urls import Place, Target, target_of

__all__ = [
    "MASK",
    "Environment",
    "LocalSettings",
    "Origin",
    "Place",
    "Project",
    "Secret",
    "SecretURL",
    "Setting",
    "Target",
    "load_project",
    "override_name",
    "target_of",
]
