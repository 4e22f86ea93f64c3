"""The package's error and warning types.

Every problem with user input raises :class:`MistError` (a ``ValueError``), with a message that
names the argument, the rule it broke and what to do about it.
"""


class MistError(ValueError):
    """Invalid input or configuration for a mist function (a ``ValueError``)."""


class MistWarning(UserWarning):
    """Input mist can handle, but whose result deserves a second look. Every warning mist raises
    is one of its kinds below, so ``warnings.filterwarnings("ignore", category=...)`` can silence
    one kind and keep the others."""


class InputWarning(MistWarning):
    """Something about the input itself: constant or discrete-looking columns, more columns than
    the rows can support."""


class RangeWarning(MistWarning):
    """The data lie outside what the model was trained on (fewer rows, more columns, a column
    pair correlated past its training data): its estimate and interval there are less reliable."""
