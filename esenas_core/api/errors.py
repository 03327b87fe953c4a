"""One flat exception hierarchy.

Every `EsenasError` is a problem the user can fix (bad config, unknown plugin, …): the CLI prints
its message as one line and exits with status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class EsenasError(Exception):
    """Base class of every user-facing error."""


class ConfigError(EsenasError):
    """A configuration file, table, key or value is wrong."""


class PluginError(EsenasError):
    """A plugin could not be registered or found."""


class UnknownPluginError(PluginError):
    """A name that no plugin of that kind registered."""


class DuplicatePluginError(PluginError):
    """Two plugins registered the same name for one kind."""


class GenomeError(EsenasError):
    """A genome does not fit its decision space."""


class TellError(EsenasError):
    """Results told for something other than the pending ask (the run's state is unchanged)."""


class RunError(EsenasError):
    """A run cannot continue (for instance too many failed rollouts after every retry)."""


class EsenasWarning(UserWarning):
    """Something the user should know that does not stop the run (the CLI prints it as one
    ``esenas: warning: …`` line)."""
