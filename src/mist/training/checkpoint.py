"""Resumable training checkpoints without pickles: tensors in safetensors, the rest in JSON."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from mist.errors import MistError

MODEL_FILE = "model.safetensors"
STATE_FILE = "optimizer.safetensors"
INFO_FILE = "checkpoint.json"


def save_checkpoint(folder: str | Path, network: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    rng_state: torch.Tensor, info: dict) -> Path:
    """Write model, optimiser state, RNG state and ``info`` (step, configs, ...) into ``folder``.

    Files are written under temporary names and renamed, so a run killed mid-write leaves the
    previous checkpoint intact.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    opt = optimizer.state_dict()
    tensors = {"rng": rng_state.cpu().contiguous()}
    scalars: dict[str, dict[str, float]] = {}
    for index, state in opt["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    meta = dict(info, param_groups=opt["param_groups"], scalar_state=scalars)
    for name, payload in ((MODEL_FILE, model), (STATE_FILE, tensors)):
        save_file(payload, str(folder / (name + ".tmp")))
    (folder / (INFO_FILE + ".tmp")).write_text(json.dumps(meta, indent=2))
    for name in (MODEL_FILE, STATE_FILE, INFO_FILE):
        (folder / (name + ".tmp")).replace(folder / name)
    return folder


def load_checkpoint(folder: str | Path, network: torch.nn.Module, optimizer: torch.optim.Optimizer | None):
    """Restore ``network`` (and ``optimizer``) in place; returns (info dict, rng state)."""
    folder = Path(folder)
    for name in (MODEL_FILE, STATE_FILE, INFO_FILE):
        if not (folder / name).is_file():
            raise MistError(f"checkpoint folder {str(folder)!r} lacks {name}; cannot resume from it.")
    info = json.loads((folder / INFO_FILE).read_text())
    network.load_state_dict(load_file(str(folder / MODEL_FILE)), strict=True)
    tensors = load_file(str(folder / STATE_FILE))
    if optimizer is not None:
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith("state."):
                _, index, name = key.split(".", 2)
                state.setdefault(int(index), {})[name] = value
        for index, values in info.get("scalar_state", {}).items():
            state.setdefault(int(index), {}).update(values)
        optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})
    return info, tensors["rng"]
