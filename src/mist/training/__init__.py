"""Training the learned estimator on synthetic data generated on the fly."""

from mist.errors import require_torch

require_torch("mist.training (training the model)")

from mist.training.loop import train
from mist.training.presets import PRESETS, TrainConfig, preset
from mist.training.stream import StreamConfig, TrainingStream

__all__ = ["train", "TrainConfig", "preset", "PRESETS", "StreamConfig", "TrainingStream"]
