"""Network blocks of the learned estimator.

The PyTorch modules load on first use, so the NumPy inference path (``mist.model.numpy_forward``)
can be imported without torch.
"""

from mist.model.config import INPUT_TRANSFORMS, ModelConfig

_LAZY = {"MISTNetwork": "mist.model.network", "ModelOutput": "mist.model.network"}
__all__ = ["MISTNetwork", "ModelConfig", "ModelOutput", "INPUT_TRANSFORMS"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mist.model' has no attribute {name!r}")
