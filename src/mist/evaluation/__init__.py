"""Evaluation of estimators on test grids with exact MI: predictions, metrics, reports."""

from mist.errors import require_torch

require_torch("mist.evaluation (mist evaluate)")

from mist.evaluation.metrics import calibration, crossing_count, mse_table
from mist.evaluation.predict import predict_baseline, predict_learned

__all__ = ["predict_baseline", "predict_learned", "mse_table", "calibration", "crossing_count"]
