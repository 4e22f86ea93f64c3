import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mist.cli import app
from mist.weights import DEFAULT_MODEL

runner = CliRunner()


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=400)
    frame = pd.DataFrame({"a": a, "b": rng.normal(size=400), "c": a + 0.5 * rng.normal(size=400),
                          "label": ["u"] * 400})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_baseline_prints_estimate_with_unit(table):
    result = runner.invoke(app, ["baseline", "ksg", str(table), "--x", "a,b", "--y", "c"])
    assert result.exit_code == 0, result.output
    assert "nats" in result.output and "dim_x=2" in result.output


def test_baseline_json_bits_and_bootstrap(table):
    nats = runner.invoke(app, ["baseline", "copula-cca", str(table), "--x", "a", "--y", "c", "--json"])
    bits = runner.invoke(app, ["baseline", "copula-cca", str(table), "--x", "0", "--y", "2", "--json", "--bits",
                               "--bootstrap", "30"])
    n, b = json.loads(nats.output), json.loads(bits.output)
    assert n["unit"] == "nats" and b["unit"] == "bits"
    assert b["estimate"] == pytest.approx(n["estimate"] / np.log(2))
    assert b["low"] < b["high"]


def test_npz_input(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    np.savez(tmp_path / "d.npz", x=x, y=x[:, :1] + rng.normal(size=(200, 1)))
    result = runner.invoke(app, ["baseline", "cca", str(tmp_path / "d.npz"), "--x", "x0:x1", "--y", "y0"])
    assert result.exit_code == 0 and "dim_x=2" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--x", "zz", "--y", "c"], "unknown column 'zz'"),
        (["--x", "label", "--y", "c"], "must be numeric"),
    ],
)
def test_baseline_bad_columns(table, args, message):
    result = runner.invoke(app, ["baseline", "ksg", str(table), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_baseline_ksg_halves_gives_the_corrected_estimate_and_its_interval(table):
    from mist.estimators.ksg import ksg_interval

    result = runner.invoke(app, ["baseline", "ksg", str(table), "--x", "a", "--y", "c", "--halves", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    values = pd.read_csv(table)
    expected = ksg_interval(values[["a"]].to_numpy(), values[["c"]].to_numpy())
    assert out["estimate"] == pytest.approx(expected.corrected) and out["uncorrected"] == pytest.approx(expected.estimate)
    assert out["low"] < out["estimate"] < out["high"] and out["level"] == 0.9
    text = runner.invoke(app, ["baseline", "ksg", str(table), "--x", "a", "--y", "c", "--halves", "--level", "0.5"])
    assert text.exit_code == 0 and "50% interval" in text.output
    wrong = runner.invoke(app, ["baseline", "cca", str(table), "--x", "a", "--y", "c", "--halves"])
    assert wrong.exit_code != 0 and "`--halves` works with the ksg estimator only" in wrong.output


def test_baseline_bad_files(tmp_path):
    missing = runner.invoke(app, ["baseline", "ksg", str(tmp_path / "nope.csv"), "--x", "a", "--y", "b"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    short = tmp_path / "short.csv"
    short.write_text("a,b\n1,2\n3,4\n")
    result = runner.invoke(app, ["baseline", "cca", str(short), "--x", "a", "--y", "b"])
    assert result.exit_code == 2 and "at least 3 samples" in result.output
    nan = tmp_path / "nan.csv"
    nan.write_text("a,b\n1,2\n3,\n5,6\n7,1\n")
    result = runner.invoke(app, ["baseline", "cca", str(nan), "--x", "a", "--y", "b"])
    assert result.exit_code == 2 and "non-finite" in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = runner.invoke(app, ["baseline", "cca", str(empty), "--x", "a", "--y", "b"])
    assert result.exit_code == 2 and "error:" in result.output
    parquet = tmp_path / "d.parquet"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]}).to_csv(parquet)  # not Parquet inside
    result = runner.invoke(app, ["baseline", "cca", str(parquet), "--x", "a", "--y", "b"])
    assert result.exit_code == 2 and result.output.count("\n") == 1  # one line, whatever went wrong
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # the message says what to install, not which engines pandas tried
        assert "needs pyarrow: pip install pyarrow" in result.output
    other = tmp_path / "data.xlsx"
    other.write_text("x")
    result = runner.invoke(app, ["baseline", "cca", str(other), "--x", "a", "--y", "b"])
    assert result.exit_code == 2 and "unknown extension" in result.output


def test_testset_command(tmp_path):
    out = tmp_path / "imd.npz"
    result = runner.invoke(app, ["testset", "--split", "imd", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and "1080 datasets" in result.output
    bad = runner.invoke(app, ["testset", "--split", "nope", "-o", str(out)])
    assert bad.exit_code == 2 and "unknown split" in bad.output


def test_estimate_command(table, test_model_card):
    result = runner.invoke(app, ["estimate", str(table), "--x", "a,b", "--y", "c", "--model", test_model_card, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["unit"] == "nats" and out["dim_x"] == 2 and out["low"] <= out["high"]
    bits = runner.invoke(app, ["estimate", str(table), "--x", "a,b", "--y", "c", "--model", test_model_card, "--bits"])
    assert bits.exit_code == 0 and "bits" in bits.output


def test_estimate_command_finds_x_and_y_itself_where_the_file_says(tmp_path, test_model_card):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = x[:, :1] + rng.normal(size=(200, 1))
    np.savez(tmp_path / "xy.npz", x=x, y=y)
    np.save(tmp_path / "two.npy", np.hstack([x[:, :1], y]))
    args = ["--model", test_model_card, "--json", "--quantiles", "0.1,0.9"]
    out = json.loads(runner.invoke(app, ["estimate", str(tmp_path / "xy.npz"), *args]).output)
    named = json.loads(runner.invoke(app, ["estimate", str(tmp_path / "xy.npz"), "--x", "x0:x1", "--y", "y0",
                                           *args]).output)
    assert (out["dim_x"], out["dim_y"]) == (2, 1) and out == named
    assert list(out["quantiles"]) == ["0.1", "0.9"] and out["quantiles"]["0.1"] <= out["quantiles"]["0.9"]
    two = json.loads(runner.invoke(app, ["estimate", str(tmp_path / "two.npy"), "--model", test_model_card,
                                         "--json"]).output)
    assert (two["dim_x"], two["dim_y"]) == (1, 1)
    text = runner.invoke(app, ["estimate", str(tmp_path / "xy.npz"), "--model", test_model_card, "--quantiles", "0.1"])
    assert text.exit_code == 0 and "quantiles: 0.1: " in text.output


def test_estimate_command_errors(table, test_model_card):
    for args, message in ((["--x", "a"], "give both --x and --y"), ([], "has 4 columns"),
                          (["--x", "a", "--y", "c", "--quantiles", "0.5,2"], "`--quantiles` takes")):
        result = runner.invoke(app, ["estimate", str(table), *args, "--model", test_model_card])
        assert result.exit_code == 2 and message in result.output, result.output
    result = runner.invoke(app, ["estimate", str(table), "--x", "a", "--y", "c", "--model", "nope"])
    assert result.exit_code == 2 and "unknown model" in result.output
    result = runner.invoke(app, ["estimate", str(table), "--x", "a", "--y", "c", "--model", test_model_card,
                                 "--level", "2"])
    assert result.exit_code == 2 and "`level`" in result.output


def test_matrix_command(table, tmp_path, test_model_card):
    frame = pd.read_csv(table).drop(columns="label")
    frame.to_csv(tmp_path / "num.csv", index=False)
    out, png = tmp_path / "mi.csv", tmp_path / "mi.png"
    result = runner.invoke(app, ["matrix", str(tmp_path / "num.csv"), "-o", str(out), "--plot", str(png),
                                 "--model", test_model_card])
    assert result.exit_code == 0, result.output
    m = pd.read_csv(out, index_col=0)
    assert list(m.columns) == ["a", "b", "c"] and png.stat().st_size > 1000
    bad = runner.invoke(app, ["matrix", str(table), "--model", test_model_card])
    assert bad.exit_code == 2 and "['label'] of" in bad.output and "--columns a,b,c" in bad.output
    # the same table, cut with --columns, one row per pair with intervals
    long, pairs_csv = (runner.invoke(app, ["matrix", str(table), "--columns", "a:c", "--pairs", "--bits", *extra])
                       for extra in ([], ["-o", str(tmp_path / "pairs.csv"), "--plot", str(tmp_path / "pairs.png")]))
    assert long.exit_code == 0, long.output
    assert long.output.startswith(f"bits, 0.9 intervals, model {DEFAULT_MODEL}") and "lower_bound" in long.output
    pairs = pd.read_csv(tmp_path / "pairs.csv")
    assert pairs_csv.exit_code == 0 and len(pairs) == 3 and (pairs.x + pairs.y)[0] in ("ac", "ca")
    assert (tmp_path / "pairs.png").stat().st_size > 1000
    assert (pairs.low <= pairs.estimate).all() and (pairs.estimate <= pairs.high).all()


def test_matrix_notes_discrete_columns(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=300)
    frame = pd.DataFrame({"a": a, "square": a**2 + 0.3 * rng.normal(size=300), "count": rng.integers(0, 3, 300)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    for extra in ([], ["--pairs"]):
        result = runner.invoke(app, ["matrix", str(tmp_path / "d.csv"), *extra])
        assert result.exit_code == 0, result.output
        assert "note: column(s) look discrete" in result.output and "count (3)" in result.output


def test_help_everywhere():
    for command in ("estimate", "matrix", "demo", "baseline", "testset", "train"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Example" in result.output


def test_neural_baseline_command(table):
    result = runner.invoke(app, ["baseline", "infonce", str(table), "--x", "a", "--y", "c", "--time-budget", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["estimator"] == "infonce" and out["estimate"] <= out["ceiling"] + 1e-9


def test_data_beyond_the_training_range_gets_notes_and_strict_json(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=300)
    path = tmp_path / "dup.csv"
    pd.DataFrame({"a": a, "copy": a + 0.05 * rng.normal(size=300), "same": np.exp(a)}).to_csv(path, index=False)
    result = runner.invoke(app, ["estimate", str(path), "--x", "a", "--y", "copy"])
    assert result.exit_code == 0 and "note: beyond the training range" in result.output
    assert "model-free lower bound: 2." in result.output
    result = runner.invoke(app, ["estimate", str(path), "--x", "a", "--y", "same", "--json"])
    out = json.loads(result.output, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert out["lower_bound"] > 5.0
    result = runner.invoke(app, ["matrix", str(path)])
    assert result.exit_code == 0 and "note: a ~ copy: correlated beyond" in result.output
    assert "note: a ~ same: correlated beyond the model's training data, so its estimate is likely too low (MI at " \
           "least " in result.output


def test_semicolon_csv_and_one_column_files(tmp_path, test_model_card):
    rng = np.random.default_rng(0)
    a = rng.normal(size=50)
    frame = pd.DataFrame({"a": a, "b": a + rng.normal(size=50)})
    frame.to_csv(tmp_path / "semi.csv", sep=";", index=False)  # as spreadsheets in many locales write CSV
    frame.to_csv(tmp_path / "comma.csv", index=False)
    outputs = [runner.invoke(app, ["estimate", str(tmp_path / name), "--model", test_model_card, "--json"])
               for name in ("semi.csv", "comma.csv")]
    assert all(r.exit_code == 0 for r in outputs) and outputs[0].output == outputs[1].output
    frame[["a"]].to_csv(tmp_path / "one.csv", index=False)
    result = runner.invoke(app, ["estimate", str(tmp_path / "one.csv")])
    assert result.exit_code == 2 and "has one column, 'a'" in result.output


numbers = st.one_of(st.floats(-1e3, 1e3, allow_nan=False).map(repr), st.sampled_from(["0", "1", "-2", "3e2"]))
junk = st.sampled_from(["", "nan", "inf", "1e400", "x", '"4"', "1,5", "NA"])


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(0, 14), columns=st.integers(1, 4), data=st.data(),
       separator=st.sampled_from([",", ";", "\t"]), header=st.booleans())
def test_random_files_never_give_a_traceback(rows, columns, data, separator, header, tmp_path_factory,
                                             test_model_card):
    table = [[data.draw(numbers) for _ in range(columns)] for _ in range(rows)]
    for _ in range(data.draw(st.integers(0, 2))):  # a few bad cells, or none
        if rows:
            table[data.draw(st.integers(0, rows - 1))][data.draw(st.integers(0, columns - 1))] = data.draw(junk)
    path = tmp_path_factory.mktemp("files") / "data.csv"
    lines = ([separator.join(f"c{i}" for i in range(columns))] if header else []) + [separator.join(r) for r in table]
    path.write_text("\n".join(lines) + "\n")
    for args in (["estimate", str(path), ], ["matrix", str(path)], ["matrix", str(path), "--pairs"]):
        result = runner.invoke(app, [*args, "--model", test_model_card])
        assert result.exit_code in (0, 2) and not isinstance(result.exception, Exception), (lines, args, result)
        if result.exit_code == 2:
            assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output


def test_heatmap_of_a_wide_table_stays_a_sensible_size(tmp_path, test_model_card):
    import matplotlib.image

    values = np.random.default_rng(0).normal(size=(60, 80))
    pd.DataFrame(values, columns=[f"c{i}" for i in range(80)]).to_csv(tmp_path / "wide.csv", index=False)
    result = runner.invoke(app, ["matrix", str(tmp_path / "wide.csv"), "-o", str(tmp_path / "m.csv"),
                                 "--plot", str(tmp_path / "m.png"), "--model", test_model_card])
    assert result.exit_code == 0, result.output
    height, width = matplotlib.image.imread(tmp_path / "m.png").shape[:2]
    assert width <= 16 * 120 and height <= 16 * 120  # 80 columns once asked for 42 inches a side
    # on the terminal, the strongest pairs instead of an 80 x 80 matrix
    shown = runner.invoke(app, ["matrix", str(tmp_path / "wide.csv"), "--model", test_model_card])
    lines = shown.output.splitlines()
    assert lines[0].startswith("80 columns: the 20 strongest of 3160 pairs") and len(lines) == 21
    matrix = pd.read_csv(tmp_path / "m.csv", index_col=0)
    a, b = lines[1].split(":")[0].split(" ~ ")
    assert float(lines[1].split(": ")[1]) == pytest.approx(matrix.to_numpy()[np.triu_indices(80, 1)].max(), abs=1e-4)
    assert matrix.loc[a, b] == pytest.approx(float(lines[1].split(": ")[1]), abs=1e-4)


def test_matrix_keeps_the_strong_pairs(table):
    out = runner.invoke(app, ["matrix", str(table), "--columns", "a:c", "--pairs", "--min-estimate", "0.1"])
    assert out.exit_code == 0, out.output
    lines = [line.split() for line in out.output.splitlines()[2:] if line.strip() and not line.startswith("note")]
    assert [(row[0], row[1]) for row in lines] == [("a", "c")]  # c = a + noise; b is independent of both
    out = runner.invoke(app, ["matrix", str(table), "--columns", "a:c", "--min-estimate", "0.1"])
    assert out.exit_code == 2 and "needs --pairs" in out.output


def test_matrix_writes_the_pairs_to_parquet(table, tmp_path):
    out = runner.invoke(app, ["matrix", str(table), "--columns", "a:c", "--pairs", "--top-k", "1",
                              "-o", str(tmp_path / "pairs.parquet")])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("wrote 2 pairs (nats, 0.9 intervals")  # a ~ c (strongest of a and of c), b with one of them
    written = pd.read_parquet(tmp_path / "pairs.parquet")
    assert ("a", "c") in set(zip(written.x, written.y)) and len(written) == 2
    out = runner.invoke(app, ["matrix", str(table), "--columns", "a:c", "--top-k", "1"])
    assert out.exit_code == 2 and "--top-k filters the pairs: it needs --pairs" in out.output
    out = runner.invoke(app, ["matrix", str(table), "--columns", "a:c", "--pairs", "--plot", str(tmp_path / "p.png"),
                              "-o", str(tmp_path / "pairs.parquet")])
    assert out.exit_code == 2 and "--plot needs the pairs in memory" in out.output
