"""Weights as safetensors plus a JSON model card holding the architecture and a SHA-256.

Never pickles: loading a file never runs code. A missing file, a checksum mismatch, a card
without a config, or a state dict that does not match the architecture each raise MistError.
Two loaders share the checks: :func:`load_model_file` (the PyTorch module) and
:func:`load_engine_file` (the NumPy inference engine of a statistics-only model, without torch).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mist.errors import MistError, require_torch
from mist.model.config import ModelConfig

CARD_FORMAT = "mist-model-card/1"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(network, stem: str | Path, card: dict, dtype=None) -> Path:
    """Write ``<stem>.safetensors`` and ``<stem>.json`` of a :class:`MISTNetwork`, floating
    tensors as ``dtype`` (a torch dtype; float32 when None); returns the card's path."""
    import torch
    from safetensors.torch import save_file

    dtype = dtype or torch.float32
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights = stem.with_suffix(".safetensors")
    tensors = {k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
               for k, v in network.state_dict().items()}
    save_file(tensors, str(weights), metadata={"format": CARD_FORMAT})
    full = dict(card)
    full.update(format=CARD_FORMAT, config=network.config.to_dict(), weights_file=weights.name,
                sha256=sha256_of(weights), parameters=sum(p.numel() for p in network.parameters()),
                dtype=str(dtype).replace("torch.", ""))
    card_path = stem.with_suffix(".json")
    card_path.write_text(json.dumps(full, indent=2) + "\n")
    return card_path


def read_card(card_path: str | Path) -> dict:
    card_path = Path(card_path)
    if not card_path.is_file():
        raise MistError(f"model card {str(card_path)!r} is missing.")
    try:
        card = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MistError(f"model card {str(card_path)!r} is not valid JSON: {exc}") from exc
    for key in ("config", "weights_file", "sha256"):
        if key not in card:
            raise MistError(f"model card {str(card_path)!r} lacks the field {key!r}.")
    return card


def _verified_weights(card_path: Path, card: dict) -> Path:
    """The weights file a card names, after checking that it exists and matches its SHA-256."""
    weights = card_path.parent / card["weights_file"]
    if not weights.is_file():
        raise MistError(f"weights file {str(weights)!r} named by {card_path.name} is missing; reinstall mist.")
    actual = sha256_of(weights)
    if actual != card["sha256"]:
        raise MistError(
            f"weights file {str(weights)!r} is corrupted or was changed: SHA-256 {actual[:12]}... "
            f"does not match the model card's {str(card['sha256'])[:12]}...; reinstall mist."
        )
    return weights


def _config(card_path: Path, card: dict) -> ModelConfig:
    try:
        return ModelConfig.from_dict(card["config"])
    except (TypeError, ValueError) as exc:
        raise MistError(f"model card {str(card_path)!r} has an invalid config: {exc}") from exc


def _tau_map(card_path: Path, card: dict):
    """The card's quantile recalibration (:class:`~mist.model.calibration.CalibrationMaps`), or
    None; its subset calibration is checked here too, so a malformed card fails on loading."""
    from mist.model.calibration import CalibrationMaps, shared_fraction

    try:
        shared_fraction(card)
        return CalibrationMaps.from_dict(card["tau_calibration"]) if "tau_calibration" in card else None
    except MistError as exc:
        raise MistError(f"model card {str(card_path)!r}: {exc}") from exc


def _read_weights(weights: Path, load_file) -> dict:
    try:
        return load_file(str(weights))
    except Exception as exc:
        raise MistError(f"could not read weights file {str(weights)!r}: {exc}") from exc


def load_model_file(card_path: str | Path, device="cpu"):
    """Load a network from its model card (JSON) and the safetensors file it names, verified.

    Returns the network (:class:`MISTNetwork`) in eval mode, in float32, and the card.
    """
    torch = require_torch("loading a model into PyTorch")
    from safetensors.torch import load_file

    from mist.model.network import MISTNetwork

    card_path = Path(card_path)
    card = read_card(card_path)
    weights = _verified_weights(card_path, card)
    config = _config(card_path, card)
    try:
        network = MISTNetwork(config)
    except (TypeError, ValueError) as exc:
        raise MistError(f"model card {str(card_path)!r} has an invalid config: {exc}") from exc
    state = _read_weights(weights, load_file)
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise MistError(
            f"weights file {str(weights)!r} does not match its architecture: "
            f"missing keys {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected keys {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}."
        )
    bad_shapes = [k for k in expected if expected[k].shape != state[k].shape]
    if bad_shapes:
        raise MistError(f"weights file {str(weights)!r} has tensors of the wrong shape: {bad_shapes[:5]}.")
    network.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    network.card = card
    network.tau_map = _tau_map(card_path, card)
    return network.to(device).eval(), card


def engine_supports(card: dict) -> bool:
    """Whether :func:`load_engine_file` can load this card's model: a statistics-only
    architecture with weights NumPy can read (float32 or float16, not bfloat16)."""
    from mist.model.numpy_forward import supports

    try:
        config = ModelConfig.from_dict(card["config"])
    except (KeyError, TypeError, ValueError):
        return False
    return supports(config) and card.get("dtype", "float32") in ("float32", "float16")


def load_engine_file(card_path: str | Path):
    """Load a statistics-only model as a NumPy engine
    (:class:`~mist.model.numpy_forward.NumpyForward`), verified as :func:`load_model_file`
    verifies, without importing torch. The engine carries ``card`` and ``tau_map``."""
    from safetensors.numpy import load_file

    from mist.model.numpy_forward import NumpyForward

    card_path = Path(card_path)
    card = read_card(card_path)
    weights = _verified_weights(card_path, card)
    config = _config(card_path, card)
    if not engine_supports(card):
        raise MistError(f"model card {str(card_path)!r}: the NumPy engine needs a statistics-only model with "
                        "float32 or float16 weights; load it with load_model_file (PyTorch) instead.")
    state = _read_weights(weights, load_file)
    try:
        engine = NumpyForward(config, state)
    except ValueError as exc:
        raise MistError(f"weights file {str(weights)!r} does not match its architecture: {exc}") from exc
    engine.card = card
    engine.tau_map = _tau_map(card_path, card)
    return engine
