"""MI estimators with one interface: ``estimator.estimate(x, y) -> float`` in nats."""

from mist.errors import MistError
from mist.estimators.base import Estimator
from mist.estimators.bootstrap import BootstrapResult, bootstrap
from mist.estimators.cca import CCA, GaussianCopulaCCA
from mist.estimators.ksg import KSG

_NEURAL = ("NeuralEstimator", "MINE", "InfoNCE", "NWJ", "DV", "SMILE")


def __getattr__(name: str):
    # the neural estimators (and so torch, seconds to import) load on first use
    if name in _NEURAL:
        from mist.estimators import neural

        return getattr(neural, name)
    if name == "BASELINES":
        from mist.estimators.neural import DV, MINE, NWJ, SMILE, InfoNCE

        return {"ksg": KSG, "cca": CCA, "copula-cca": GaussianCopulaCCA,
                "mine": MINE, "infonce": InfoNCE, "nwj": NWJ, "dv": DV, "smile": SMILE}
    raise AttributeError(f"module 'mist.estimators' has no attribute {name!r}")


def get_baseline(name: str, **settings) -> Estimator:
    """An estimator by its command-line name: ``ksg``, ``cca``, ``copula-cca``, ``mine``,
    ``infonce``, ``nwj``, ``dv`` or ``smile``."""
    baselines = __getattr__("BASELINES")
    if name not in baselines:
        raise MistError(f"unknown estimator {name!r}; expected one of {list(baselines)}.")
    return baselines[name](**settings)


__all__ = ["Estimator", "KSG", "CCA", "GaussianCopulaCCA", "bootstrap", "BootstrapResult",
           "NeuralEstimator", "MINE", "DV", "NWJ", "InfoNCE", "SMILE", "BASELINES", "get_baseline"]
