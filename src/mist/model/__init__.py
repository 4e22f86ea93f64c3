"""Network blocks of the learned estimator."""

from mist.model.network import INPUT_TRANSFORMS, MISTNetwork, ModelConfig, ModelOutput

__all__ = ["MISTNetwork", "ModelConfig", "ModelOutput", "INPUT_TRANSFORMS"]
