"""Which errors are the user's, and how the command line reports them.

A bad input (a missing file, an undecodable image, an out-of-range setting, an unknown config
option) is the user's to fix: it is reported as one line, ``wm-control <command>: error: <message>``
on stderr, with exit status :data:`USER_ERROR_EXIT`, and no traceback. Every other exception is a
bug and keeps its traceback. ``WM_CONTROL_DEBUG=1`` shows the traceback of user errors too.

User errors are ``ValueError`` (our validated configs and checkpoint errors raise it), ``OSError``
(files), and Hydra's and OmegaConf's configuration errors (unknown option, missing key, bad
override syntax).
"""

from __future__ import annotations

import os
import sys

from hydra.errors import HydraException, MissingConfigException
from omegaconf.errors import OmegaConfBaseException

DEBUG_ENV = "WM_CONTROL_DEBUG"
USER_ERROR_EXIT = 2
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    OSError,
    HydraException,
    OmegaConfBaseException,
)


def debug_enabled() -> bool:
    """True when ``WM_CONTROL_DEBUG`` is set to anything but empty, ``0`` or ``false``."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def is_user_error(error: BaseException) -> bool:
    return isinstance(error, USER_ERRORS)


def one_line(error: BaseException) -> str:
    """The error's message as one line (Hydra's search-path listing left out)."""
    if isinstance(error, MissingConfigException):
        text = str(error).split("Config search path:")[0].split("Available options")[0]
        options = f"; available options: {', '.join(error.options)}" if error.options else ""
        return _join(text) + options
    if isinstance(error, OmegaConfBaseException):  # its text adds "full_key: …": the key leads
        message = (str(error).splitlines() or [type(error).__name__])[0].strip()
        key = getattr(error, "full_key", None)
        return f"{key}: {message}" if key else message
    text = _join(str(error)) or type(error).__name__
    cause = error.__cause__
    if isinstance(error, HydraException) and isinstance(cause, OmegaConfBaseException):
        text = f"{text} ({one_line(cause)})"
    return text


def report(command: str, error: BaseException) -> None:
    """Print the one-line report of a user error and exit with :data:`USER_ERROR_EXIT`."""
    print(f"wm-control {command}: error: {one_line(error)}", file=sys.stderr, flush=True)
    raise SystemExit(USER_ERROR_EXIT)


def _join(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())
