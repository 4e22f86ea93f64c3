"""MI estimators with one interface: ``estimator.estimate(x, y) -> float`` in nats."""

from mist.errors import MistError
from mist.estimators.base import Estimator
from mist.estimators.bootstrap import BootstrapResult, bootstrap
from mist.estimators.cca import CCA, GaussianCopulaCCA
from mist.estimators.ksg import KSG
from mist.estimators.neural import DV, MINE, NWJ, SMILE, InfoNCE, NeuralEstimator

BASELINES = {"ksg": KSG, "cca": CCA, "copula-cca": GaussianCopulaCCA,
             "mine": MINE, "infonce": InfoNCE, "nwj": NWJ, "dv": DV, "smile": SMILE}


def get_baseline(name: str, **settings) -> Estimator:
    """An estimator by its command-line name: ``ksg``, ``cca``, ``copula-cca``, ``mine``,
    ``infonce``, ``nwj``, ``dv`` or ``smile``."""
    if name not in BASELINES:
        raise MistError(f"unknown estimator {name!r}; expected one of {list(BASELINES)}.")
    return BASELINES[name](**settings)


__all__ = ["Estimator", "KSG", "CCA", "GaussianCopulaCCA", "bootstrap", "BootstrapResult",
           "NeuralEstimator", "MINE", "DV", "NWJ", "InfoNCE", "SMILE", "BASELINES", "get_baseline"]
