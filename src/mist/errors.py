"""The package's error and warning types, and the findings an estimate reports.

Every problem with user input raises :class:`MistError` (a ``ValueError``), with a message that
names the argument, the rule it broke and what to do about it.
"""

import warnings
from typing import NamedTuple


class MistError(ValueError):
    """Invalid input or configuration for a mist function (a ``ValueError``)."""


class MissingDependencyError(MistError, ImportError):
    """A part of mist that needs an optional dependency (PyTorch) was used without it."""


def require_torch(what: str):
    """PyTorch, or a :class:`MissingDependencyError` that says how to install it: estimates run
    on NumPy, so torch is needed only for training, sampling the meta-distributions, the
    evaluation suite, the neural baselines and the differentiable ``MIEstimator``."""
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError(
            f"PyTorch is needed for {what}, and it is not installed: pip install 'mist-mi[train]' (first "
            "`pip install torch==2.13.0` for a CPU build). Estimates (mist.estimate, mi_matrix, mi_pairs, "
            "the command line's estimate, matrix, demo) work without it.") from exc
    return torch


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


class Finding(NamedTuple):
    """One thing an estimate found worth saying about its input or its answer: ``kind`` is a
    key of :data:`FINDING_KINDS`, ``message`` says what and why. ``MIResult.findings`` holds
    them in the order the checks ran; each kind that has a warning class was also warned."""

    kind: str
    message: str

    @property
    def warning(self) -> type[MistWarning] | None:
        """The warning class this kind is raised as (None: information only)."""
        return FINDING_KINDS[self.kind]

    def warn(self, text: str | None = None, stacklevel: int = 2) -> "Finding":
        """Raise this finding as its kind's warning (``text``, else the message), pointing
        ``stacklevel`` frames above the caller as ``warnings.warn`` counts them; returns it."""
        warnings.warn(text or self.message + ".", self.warning, stacklevel=stacklevel + 1)
        return self


#: Every kind of finding, in the order the checks run, and the warning class it raises.
FINDING_KINDS: dict[str, type[MistWarning] | None] = {
    "constant-columns": InputWarning,  # dropped: they carry no information
    "discrete": InputWarning,  # a column with few distinct values
    "columns-per-row": InputWarning,  # more than MAX_COLUMNS_PER_ROW columns per row
    "few-rows": RangeWarning,  # fewer rows than the model's training data
    "many-columns": RangeWarning,  # more columns a side than the model's training data
    "beyond-range": RangeWarning,  # a column pair correlated past the training data, or the bound above the interval
    "subsets": None,  # rows above the model's trained rows: averaged over subsets
    "ksg-rows": None,  # model="ksg" read a subset of the rows
    "conditional-uncalibrated": None,  # z given to a model without a fitted conditional spread
    "dequantized": None,  # a discrete side read as classes (mist.discrete)
    "entropy-cap": RangeWarning,  # the estimate exceeded a discrete side's entropy (which bounds MI): capped
}
