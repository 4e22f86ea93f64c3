"""Markdown tables for the evaluation report."""

from __future__ import annotations

import numpy as np
import pandas as pd


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a Markdown table (index first), numbers rounded."""
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else (f"{v:.{digits}f}" if abs(v) >= 10 ** -digits or v == 0 else f"{v:.2e}")
        return str(v)

    header = [str(frame.index.name or "")] + [str(c) for c in frame.columns]
    rows = [[cell(i)] + [cell(v) for v in row] for i, row in zip(frame.index, frame.to_numpy())]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])
