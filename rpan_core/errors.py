"""User-facing error types.

Every failure a person can cause or meet (a bad file, a wrong checkpoint, a full
disk) is raised as one of these, with a message that says what was wrong and
what to do; the command line prints it without a traceback and the studio shows
it in a dialog. Anything else escaping is a bug.
"""

from __future__ import annotations


class RPANError(Exception):
    """Base class for errors meant for the user."""


class VideoError(RPANError):
    """A video or frame folder that cannot be read."""


class ProjectError(RPANError):
    """A project folder or database that cannot be used as asked."""


class FormatError(RPANError):
    """A dataset or annotation file that is malformed."""


class CheckpointError(RPANError):
    """A checkpoint that is missing, broken, or for another model."""


class TrainingError(RPANError):
    """A training run that cannot start or cannot go on."""


class ConfigError(RPANError):
    """An option or setting with an impossible value."""
