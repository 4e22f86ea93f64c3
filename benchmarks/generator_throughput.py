"""Sampler throughput: datasets/s for every training family at n = 500, dim_x = dim_y = 32.

    python benchmarks/generator_throughput.py [--device cuda] [--batch 64]
"""

from __future__ import annotations

import argparse
import time

import torch

from mist.distributions import TRAIN, Family


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--dim", type=int, default=32)
    args = parser.parse_args()
    gen = torch.Generator(device=args.device).manual_seed(0)
    print(f"device={args.device} threads={torch.get_num_threads()} n={args.n} d={args.dim} batch={args.batch}")
    total_sets, total_time = 0, 0.0
    for name in TRAIN:
        fam = Family.from_name(name)
        rounds = 3
        fam.sample_params(2, args.dim, args.dim, generator=gen)  # warm-up
        start = time.perf_counter()
        for _ in range(rounds):
            p = fam.sample_params(args.batch, args.dim, args.dim, generator=gen)
            x, y = fam.sample(p, args.n, args.dim, args.dim, generator=gen)
            fam.mutual_information(p, args.dim, args.dim)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        total_sets += rounds * args.batch
        total_time += elapsed
        print(f"{name:<34} {rounds * args.batch / elapsed:>9.0f} datasets/s")
    print(f"{'all training families':<34} {total_sets / total_time:>9.0f} datasets/s")


if __name__ == "__main__":
    main()
