"""The package's error and warning types.

Every problem with user input raises :class:`MistError` (a ``ValueError``), with a message that
names the argument, the rule it broke and what to do about it.
"""


class MistError(ValueError):
    """Invalid input or configuration for a mist function (a ``ValueError``)."""


class MistWarning(UserWarning):
    """Input mist can handle, but whose result deserves a second look."""
