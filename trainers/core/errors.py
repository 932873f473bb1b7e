"""Failures the user of a command can fix, which the command line prints as one
`ERROR:` line (`trainers.core.cli`; `--verbose` gives the traceback too).

* `CommandError`: a flag, a gin file or binding, a path or the environment.
* `SettingError`: a gin setting whose value cannot work, e.g. `train.epochs = 0`
  or an unknown strategy name; a `ValueError` too, for callers that catch one.

Raise them only where the fix is the user's (the message names the setting and
what to do), before any training where possible; anything else stays a bug
with its traceback.
"""

__all__ = ["CommandError", "SettingError"]


class CommandError(Exception):
    """A failure the user of a command can fix: a flag, a gin setting, a path or
    the environment. The message names the problem and the fix."""


class SettingError(CommandError, ValueError):
    """A gin setting whose value cannot work; the message names the setting and
    the received value."""
