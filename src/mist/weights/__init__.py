"""Shipped weights: each model is ``<name>.safetensors`` plus its model card ``<name>.json``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from mist.errors import MistError, require_torch

WEIGHTS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "mist-pairs-3"


def available_models() -> list[str]:
    """Names of the models shipped with this installation."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.json"))


def model_card_path(name: str) -> Path:
    """The model card for ``name`` ("default", a shipped name, or a path to a ``.json`` card)."""
    if name in (None, "default"):
        name = DEFAULT_MODEL
    candidate = Path(str(name))
    if candidate.suffix == ".json":
        if not candidate.is_file():
            raise MistError(f"model card {str(candidate)!r} does not exist.")
        return candidate
    path = WEIGHTS_DIR / f"{name}.json"
    if not path.is_file():
        shipped = available_models()
        hint = f"shipped models: {shipped}" if shipped else "no model is shipped with this installation"
        raise MistError(f"unknown model {name!r}; {hint}, or pass the path of a model card (.json).")
    return path


_READY: dict = {}  # (shipped name, device or "numpy") -> network or NumPy engine, as the caches hold them


@lru_cache(maxsize=8)
def _load_cached(card: str, device: str):
    from mist.model.serialization import load_model_file

    return load_model_file(card, device=device)


def load_model(name: str = "default", device: str | None = None):
    """A ready, eval-mode network; its model card (a dict) is ``network.card``.

    Weights are verified against the SHA-256 in the card; a missing or altered file raises
    :class:`~mist.MistError`. Loaded models are cached per (card, device): copy one before
    changing it (``MIEstimator`` keeps its own copy).
    """
    device = str(device or "cpu")
    shipped = isinstance(name, str) and not name.endswith(".json")
    if shipped and (name, device) in _READY:  # a repeat call: skip the file-system checks
        return _READY[(name, device)]
    card = model_card_path(name)
    torch = require_torch("mist.load_model (the PyTorch model; estimates need no torch)")

    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as exc:
        raise MistError(f"`device` must be 'cpu' or 'cuda[:index]', got {device!r}.") from exc
    if kind == "cuda" and not torch.cuda.is_available():
        raise MistError("`device='cuda'` was asked for, but torch sees no CUDA device here; use device='cpu'.")
    if kind not in ("cpu", "cuda"):
        raise MistError(f"`device` must be 'cpu' or 'cuda[:index]', got {device!r}.")
    network, _ = _load_cached(str(card.resolve()), device)
    if shipped:
        _READY[(name, device)] = network
    return network


@lru_cache(maxsize=8)
def _engine_cached(card: str):
    from mist.model.serialization import engine_supports, load_engine_file, read_card

    return load_engine_file(card) if engine_supports(read_card(card)) else None


def load_predictor(name: str = "default", device: str | None = None):
    """What ``mist.estimate`` runs: on the CPU, a statistics-only model's NumPy engine
    (:class:`~mist.model.numpy_forward.NumpyForward`, loaded and verified without importing
    torch, which takes seconds); otherwise, or for a model with a cell trunk, the network of
    :func:`load_model`. Either carries ``card`` and ``tau_map`` and goes to
    :func:`mist.model.inference.predict_many`. Cached like :func:`load_model`.
    """
    if device is None or str(device) == "cpu":
        shipped = isinstance(name, str) and not name.endswith(".json")
        if shipped and (name, "numpy") in _READY:
            return _READY[(name, "numpy")]
        engine = _engine_cached(str(model_card_path(name).resolve()))
        if engine is not None:
            if shipped:
                _READY[(name, "numpy")] = engine
            return engine
    return load_model(name, device)
