import numpy as np
import pandas as pd

from mist.evaluation.markdown import markdown_table


def test_markdown_table():
    text = markdown_table(pd.DataFrame({"a": [1.23456, np.nan]}, index=["x", "y"]))
    assert text.splitlines()[2] == "| x | 1.235 |" and text.splitlines()[3] == "| y |  |"
