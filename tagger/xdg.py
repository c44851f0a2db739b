"""Where per-user files live by default: an XDG base directory, else a folder under the home directory."""

from __future__ import annotations

import os
from pathlib import Path


class NoHomeError(Exception):
    """Neither the XDG variable nor a home directory says where the user's files go ($HOME unset and the
    account has no home, as under some service managers and containers)."""


def base_directory(variable: str, *under_home: str) -> Path:
    """``$variable`` (``XDG_CONFIG_HOME``, ``XDG_STATE_HOME``), else ``~/<under_home>``; raises NoHomeError
    where there is no home directory either."""
    if os.environ.get(variable):
        return Path(os.environ[variable])
    try:
        return Path.home().joinpath(*under_home)
    except (RuntimeError, KeyError) as error:
        raise NoHomeError(f"no home directory to find (HOME is not set) and {variable} is not set") from error
