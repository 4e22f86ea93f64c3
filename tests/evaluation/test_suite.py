import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mist.cli import app

FILES = ["report.md", "summary.json", "predictions.csv", "figure2_predicted_vs_true.png", "figure3_heatmaps.png",
         "figure3_heatmaps.csv", "figure5_calibration.png", "figure5_calibration.csv", "table7_seconds_per_estimate.csv",
         "table9_quantile_checks.csv", "figure4_sample_requirements.png", "figure4_sample_requirements.csv",
         "figure6_generalisation.png", "figure6_generalisation.csv", "appendixD2_consistency.png",
         "appendixD2_consistency.csv", "appendixE_feature_selection.png", "appendixE_feature_selection.csv", "appendixE_final_weights.csv",
         "figure7_seconds_per_estimate.png"] + [f"table{t}_{s}.csv" for t in ("1_mse_by_n", "6_mse_by_family") for s in ("imd", "oomd")]


@pytest.fixture(scope="module")
def report(tmp_path_factory, test_model_card):
    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(app, ["evaluate", "--quick", "-o", str(out / "r"), "--model", test_model_card,
                                      "--bootstrap", "5", "--markdown", str(out / "results.md")])
    assert result.exit_code == 0, result.output
    text = (out / "results.md").read_text()
    assert "![](r/figure2_predicted_vs_true.png)" in text and "(data: [predictions.csv](r/predictions.csv))" in text
    return out / "r"


def test_every_file_is_written(report):
    for name in FILES:
        assert (report / name).is_file() and (report / name).stat().st_size > 0, name


def test_numbers_are_finite_and_plausible(report):
    summary = json.loads((report / "summary.json").read_text())
    for split in ("imd", "oomd"):
        mse = summary["mse"][split]
        assert set(mse) >= {"MIST", "MIST-QR", "KSG", "CCA", "copula-CCA"}
        assert all(np.isfinite(v) and v >= 0 for v in mse.values())
        cal = np.array(list(summary["calibration"][split].values()))
        assert ((cal >= 0) & (cal <= 1)).all() and (np.diff(cal) >= 0).all()  # non-crossing quantiles
        assert summary["crossing"][split] == 0
    pred = pd.read_csv(report / "predictions.csv")
    assert len(pred) == 2 * 5 * (6 + 7)  # repeats x n values x families
    # copula CCA is exact for Gaussian copulas: on the dense Gaussian families its error is small
    dense = pred[pred.family.str.startswith("multi_normal-dense") & (pred.n >= 250)]
    assert ((dense["copula-CCA"] - dense["true_mi"]) ** 2).mean() < 0.5
    timing = pd.read_csv(report / "table7_seconds_per_estimate.csv", index_col=0)
    assert (timing.iloc[:, 0] > 0).all()
    d2 = pd.read_csv(report / "appendixD2_consistency.csv")
    assert ((d2["dpi_violation_rate"] >= 0) & (d2["dpi_violation_rate"] <= 1)).all()
    assert np.isfinite(d2["additivity_ratio_median"]).all()
    heat = pd.read_csv(report / "figure3_heatmaps.csv")
    cov = heat.loc[heat.estimator.isin(["MIST-QR", "MIST", "KSG"]), "coverage90"].dropna()
    assert set(heat.loc[heat.coverage90.notna(), "estimator"]) == {"MIST-QR", "MIST", "KSG"}
    assert len(cov) and cov.between(0, 1).all()
    gen = pd.read_csv(report / "figure6_generalisation.csv")
    assert gen["beyond_training"].any() and (gen["mse"] >= 0).all()
    fs = pd.read_csv(report / "appendixE_feature_selection.csv")
    assert set(fs["method"]) == {"MIST", "MINE"} and fs["roc_auc"].between(0, 1).all()
    text = (report / "report.md").read_text()
    assert "Table 1 (IMD)" in text and "figure5_calibration.png" in text


def test_unknown_estimator(tmp_path, test_model_card):
    result = CliRunner().invoke(app, ["evaluate", "--quick", "-o", str(tmp_path), "--model", test_model_card,
                                      "--baselines", "ksg,magic"])
    assert result.exit_code == 2 and "unknown estimator 'magic'" in result.output
