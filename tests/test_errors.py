"""Without PyTorch: estimates work, and what needs torch says how to install it."""

import subprocess
import sys

from mist.weights import DEFAULT_MODEL

BLOCK_TORCH = "import sys; sys.modules['torch'] = None\n"  # as if PyTorch were not installed


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_TORCH + code], capture_output=True, text=True)


def test_estimates_and_the_command_line_run_without_torch():
    done = run("import numpy as np, mist\n"
               "rng = np.random.default_rng(0); x = rng.normal(size=300)\n"
               "r = mist.estimate(x, x + rng.normal(size=300)); m = mist.mi_matrix(np.column_stack([x, x ** 2]))\n"
               "print(r.model, 0.2 < r.estimate < 0.6, m.shape)\n"
               "from mist.cli import app\n"
               "app(['demo'])\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"{DEFAULT_MODEL} True (2, 2)" and "exact MI" in done.stdout


def test_what_needs_torch_raises_a_missing_dependency_error_saying_how_to_install_it():
    for call in ("import mist.distributions", "mist.MIEstimator()", "mist.load_model()", "import mist.training",
                 "from mist.estimators import MINE"):
        done = run("import mist\n"
                   "try:\n"
                   f"    {call}\n"
                   "except mist.MistError as exc:\n"
                   "    print(type(exc).__name__, isinstance(exc, ImportError), exc)\n")
        assert done.returncode == 0, (call, done.stderr)
        assert done.stdout.startswith("MissingDependencyError True PyTorch is needed for"), (call, done.stdout)
        assert "pip install 'mist-mi[train]'" in done.stdout


def test_the_command_line_names_the_missing_dependency():
    done = run("from mist.cli import app\napp(['testset', '--recipe', 'paper-general', '--split', 'imd', '-o', 'x.npz'])")
    assert done.returncode == 2 and "error: PyTorch is needed for" in done.stderr and "Traceback" not in done.stderr
