"""Weights as safetensors plus a JSON model card holding the architecture and a SHA-256.

Never pickles: loading a file never runs code. A missing file, a checksum mismatch, a card
without a config, or a state dict that does not match the architecture each raise MistError.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from mist.errors import MistError
from mist.model.network import MISTNetwork, ModelConfig

CARD_FORMAT = "mist-model-card/1"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(network: MISTNetwork, stem: str | Path, card: dict, dtype: torch.dtype = torch.float32) -> Path:
    """Write ``<stem>.safetensors`` and ``<stem>.json``; returns the card's path."""
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


def load_model_file(card_path: str | Path, device: str | torch.device = "cpu") -> tuple[MISTNetwork, dict]:
    """Load a network from its model card (JSON) and the safetensors file it names, verified.

    Returns the network in eval mode, in float32, and the card.
    """
    card_path = Path(card_path)
    card = read_card(card_path)
    weights = card_path.parent / card["weights_file"]
    if not weights.is_file():
        raise MistError(f"weights file {str(weights)!r} named by {card_path.name} is missing; reinstall mist.")
    actual = sha256_of(weights)
    if actual != card["sha256"]:
        raise MistError(
            f"weights file {str(weights)!r} is corrupted or was changed: SHA-256 {actual[:12]}... "
            f"does not match the model card's {str(card['sha256'])[:12]}...; reinstall mist."
        )
    try:
        config = ModelConfig.from_dict(card["config"])
        network = MISTNetwork(config)
    except (TypeError, ValueError) as exc:
        raise MistError(f"model card {str(card_path)!r} has an invalid config: {exc}") from exc
    try:
        state = load_file(str(weights))
    except Exception as exc:
        raise MistError(f"could not read weights file {str(weights)!r}: {exc}") from exc
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
    network.tau_map = None
    if "tau_calibration" in card:
        from mist.model.calibration import CalibrationMaps

        try:
            network.tau_map = CalibrationMaps.from_dict(card["tau_calibration"])
        except MistError as exc:
            raise MistError(f"model card {str(card_path)!r}: {exc}") from exc
    return network.to(device).eval(), card
