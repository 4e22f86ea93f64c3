"""mist: mutual information estimation, learned and classical. Results are in nats unless a
`base` is given.

>>> import numpy as np, mist
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(300, 2)); y = x[:, :1] + rng.normal(size=(300, 1))
>>> result = mist.estimate(x, y)          # MIResult: estimate, low, high, unit, n, ...
"""

from mist.errors import Finding, InputWarning, MistError, MistWarning, RangeWarning

__version__ = "0.1.0"

_LAZY = {
    "estimate": "mist.api",
    "estimate_many": "mist.estimation",
    "mi_matrix": "mist.tables",
    "mi_pairs": "mist.tables",
    "write_mi_pairs": "mist.tables",
    "mutual_info_score": "mist.tables",
    "MIResult": "mist.result",
    "ci_test": "mist.conditional",
    "MIEstimator": "mist.differentiable",
    "load_model": "mist.weights",
    "available_models": "mist.weights",
}
__all__ = ["MistError", "MistWarning", "InputWarning", "RangeWarning", "Finding", "__version__", *_LAZY]


def __getattr__(name: str):
    # heavy modules (torch) load on first use, so `import mist` stays light
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mist' has no attribute {name!r}")
