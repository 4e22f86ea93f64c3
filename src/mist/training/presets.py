"""Named training configurations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from mist.errors import MistError
from mist.model.network import ModelConfig
from mist.training.stream import StreamConfig


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    stream: StreamConfig = field(default_factory=StreamConfig)
    steps: int = 10_000
    datasets: int | None = None  # stop once this many datasets are seen (runs of different models compare)
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    quantile_weight: float = 1.0
    taus_per_dataset: int = 8
    seed: int = 0
    val_every: int = 500
    val_repeats: int = 3
    val_n_values: tuple[int, ...] = (10, 50, 100, 200, 350, 500)
    checkpoint_every_s: float = 300.0
    snapshots: bool = False  # also keep each checkpoint's weights as snapshots/model-STEP.safetensors (to average)
    autocast: str = "auto"  # "auto": bf16 on CUDA, none on CPU; or "bf16" / "none"
    loaded_lr_ratio: float = 1.0  # learning rate of the weights loaded by --init, relative to new ones
    time_limit_s: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        data = dict(data)
        model = ModelConfig.from_dict(data.pop("model"))
        stream = data.pop("stream")
        stream = StreamConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in stream.items()})
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(model=model, stream=stream, **data)


def preset(name: str) -> TrainConfig:
    """``smoke`` (seconds, for tests), ``tiny`` (2 CPU cores, about an hour), ``pairs`` (tiny with
    the pair branch, on the relations too), ``small`` (one GPU, statistics only), ``base`` (one GPU,
    with the cell trunk)."""
    if name == "smoke":
        return TrainConfig(
            model=ModelConfig(cell_width=8, heads=2, blocks=1, inducing=4, stats_width=16, head_width=32,
                              quantile_knots=4),
            stream=StreamConfig(n_range=(10, 40), dim_range=(1, 4), cells_per_batch=4_000, min_batch=16),
            steps=6, warmup_steps=2, val_every=3, val_repeats=1, val_n_values=(10, 30), checkpoint_every_s=1e9,
        )
    if name == "tiny":
        # No cell trunk: on 2 CPU cores it costs ~10x the throughput for no gain per dataset
        # seen (benchmarks/ablation.py); the copula statistics with column attention train at
        # ~300 datasets/s per core.
        return TrainConfig(
            model=ModelConfig(heads=4, stats_width=96, column_blocks=3, head_width=192, use_cells=False),
            stream=StreamConfig(cells_per_batch=400_000, min_batch=32, max_batch=512),
            steps=15_000, lr=1e-3, warmup_steps=200, val_every=1000,
        )
    if name == "pairs":
        # tiny's architecture plus the pair branch (pair lag statistics), meant to start from
        # mist-tiny-gpu (``--init``; the new branch starts at zero output, so training begins at
        # that model's answers): half of each batch the paper's families, half the relations of
        # mist.distributions.relations, n up to 1,000
        return TrainConfig(
            model=ModelConfig(heads=4, stats_width=96, column_blocks=3, head_width=192, use_cells=False,
                              use_pair_stats=True),
            stream=StreamConfig(n_range=(10, 1000), cells_per_batch=1_200_000, min_batch=64, max_batch=1024,
                                relation_fraction=0.3, relation_map_probability=0.2, relation_min_n=30,
                                relation_ramp_n=250, paper_n_share=0.5, small_n_share=0.1,
                                relation_block_regimes=(0.05, 0.5, 0.35, 0.1)),
            steps=100_000, lr=3e-4, loaded_lr_ratio=0.33, warmup_steps=100, val_every=200, snapshots=True,
        )
    if name == "small":
        # The statistics-only design of `tiny`, wider and one column block deeper; CPU inference
        # stays within a few times tiny's. On one H200 a step costs a fixed ~70 ms of launches and
        # syncs whatever its size (benchmarks/training_step_profile.py), so batches are large.
        return TrainConfig(
            model=ModelConfig(heads=4, stats_width=128, column_blocks=4, head_width=256, use_cells=False),
            stream=StreamConfig(cells_per_batch=8_000_000, min_batch=64, max_batch=8192),
            steps=20_000, lr=1e-3, warmup_steps=300, val_every=1000,
        )
    if name == "base":
        return TrainConfig(
            model=ModelConfig(cell_width=96, heads=4, blocks=4, inducing=16, stats_width=192, head_width=384,
                              quantile_knots=16, column_blocks=4),
            stream=StreamConfig(cells_per_batch=2_000_000, min_batch=64, max_batch=4096),
            steps=20_000, lr=5e-4, warmup_steps=500, val_every=1000,
        )
    raise MistError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}.")


def apply_overrides(cfg: TrainConfig, assignments: list[str]) -> TrainConfig:
    """Apply ``section.field=value`` strings (``lr=3e-4``, ``model.cell_width=8``) in place."""
    import json

    for item in assignments:
        if "=" not in item:
            raise MistError(f"`--set` takes field=value, got {item!r}.")
        key, raw = item.split("=", 1)
        target = cfg
        *path, name = key.strip().split(".")
        for part in path:
            target = getattr(target, part, None)
            if target is None:
                raise MistError(f"`--set`: unknown config section {part!r} in {key!r}.")
        if not hasattr(target, name):
            raise MistError(f"`--set`: unknown config field {key!r}.")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if isinstance(value, list):
            value = tuple(value)
        setattr(target, name, value)
    return cfg


PRESETS = ("smoke", "tiny", "pairs", "small", "base")
__all__ = ["TrainConfig", "preset", "PRESETS"]
