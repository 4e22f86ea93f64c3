import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mist.cli import app
from mist.evaluation.studies import BASE_RUN, STUDY_DIMENSIONS, error_summary, finished, study_runs
from mist.training import preset
from mist.training.presets import apply_overrides


def _config(run):
    """The training config a run's command line asks for."""
    command = run.command("runs")
    return apply_overrides(preset("tiny"), [command[i + 1] for i, arg in enumerate(command) if arg == "--set"])


def test_runs_compare_what_they_claim_to():
    runs = {run.name: run for run in study_runs()}
    assert len(runs) == len(study_runs())
    sizes = [r for r in runs.values() if r.part == "table8"]
    # the sizes: one budget, one stream, only the model's width differs
    assert len({r.datasets for r in sizes}) == 1 and BASE_RUN in runs
    configs = [_config(r) for r in sizes]
    assert all(c.stream == configs[0].stream for c in configs)
    assert len({(c.model.stats_width, c.model.head_width) for c in configs}) == len(sizes)
    # specialised runs: one dimension each, as many datasets as the reduced-data control
    for d in STUDY_DIMENSIONS:
        run = runs[f"dim-{d}"]
        cfg = _config(run)
        assert cfg.stream.dim_range == (d, d) and run.datasets == runs["reduced-data"].datasets < runs[BASE_RUN].datasets


def test_error_summary_splits_mse_into_bias_and_variance():
    frame = pd.DataFrame({"family": ["a"] * 4 + ["b"] * 4, "n": [10] * 8, "true_mi": [1.0] * 8,
                          "MIST": [2, 2, 2, 2, 0, 2, 0, 2]})
    stats = error_summary(frame, "MIST")
    assert stats["mse"] == pytest.approx(1.0)
    assert stats["abs_bias"] == pytest.approx(0.5)  # group a: +1, group b: 0
    assert stats["variance"] == pytest.approx(np.var([-1, 1, -1, 1], ddof=1) / 2)


def test_evaluate_reads_finished_runs_and_lists_the_rest(tmp_path, test_model_card):
    root = tmp_path / "runs"
    card = Path(test_model_card)
    for name in (BASE_RUN, "size-s", "dim-4", "reduced-data"):  # "finished" with an untrained model
        (root / name).mkdir(parents=True)
        shutil.copy(card.with_suffix(".safetensors"), root / name / card.with_suffix(".safetensors").name)
        shutil.copy(card, root / name / "model.json")
    assert finished(root, study_runs()[0]) is not None
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["evaluate", "--quick", "-o", str(out), "--studies", str(root), "--studies-only"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())["studies"]
    assert set(summary["missing"]) == {r.name for r in study_runs()} - {BASE_RUN, "size-s", "dim-4", "reduced-data"}
    table8 = pd.read_csv(out / "table8_model_size.csv", index_col=0)
    assert set(table8.index) == {BASE_RUN, "size-s"} and (table8["IMD mse"] >= 0).all()
    assert table8["OOMD 90% coverage"].between(0, 1).all() and (table8["ms per estimate (n 500, 32 + 32)"] > 0).all()
    assert (table8["relations mse"] > 0).all() and table8["relations 90% coverage"].between(0, 1).all()
    figure8 = pd.read_csv(out / "figure8_dimension_specialisation.csv")
    # the specialised model only at its own dimension; the others at every dimension
    assert set(figure8.loc[figure8.model == "specialised", "d"]) == {4}
    assert set(figure8.loc[figure8.model == "reduced data", "d"]) == set(STUDY_DIMENSIONS)
    text = (out / "report.md").read_text()
    assert "Table 8" in text and "Figure 8" in text and "Table 1" not in text


def test_studies_folder_must_exist(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", "--quick", "-o", str(tmp_path / "r"), "--studies",
                                      str(tmp_path / "nope"), "--studies-only"])
    assert result.exit_code != 0 and "is not a folder" in result.output
