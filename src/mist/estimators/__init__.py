"""MI estimators with one interface: ``estimator.estimate(x, y) -> float`` in nats."""

from mist.errors import MistError
from mist.estimators.base import Estimator
from mist.estimators.bootstrap import BootstrapResult, bootstrap
from mist.estimators.cca import CCA, GaussianCopulaCCA
from mist.estimators.ksg import KSG

BASELINES = {"ksg": KSG, "cca": CCA, "copula-cca": GaussianCopulaCCA}


def get_baseline(name: str, **settings) -> Estimator:
    """A classical estimator by its command-line name: ``ksg``, ``cca`` or ``copula-cca``."""
    if name not in BASELINES:
        raise MistError(f"unknown estimator {name!r}; expected one of {list(BASELINES)}.")
    return BASELINES[name](**settings)


__all__ = ["Estimator", "KSG", "CCA", "GaussianCopulaCCA", "bootstrap", "BootstrapResult",
           "BASELINES", "get_baseline"]
