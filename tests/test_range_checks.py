"""The training range a model card declares, as the checks read it."""

from mist.distributions.relations import GAUSSIAN_RHO_MAX
from mist.range_checks import RELATIONS_RHO_MAX, max_rows, training_range


def test_relations_widen_the_trained_correlations_and_rows():
    assert RELATIONS_RHO_MAX == GAUSSIAN_RHO_MAX
    paper = {"training": {"n_range": [10, 500], "dim_range": [1, 32], "priors": {"strength": [0.1, 5.0]},
                          "config": {"stream": {"relation_fraction": 0.0}}}}
    assert training_range(paper) == (10, 32, 25 / 26) and max_rows(paper) == 500
    wide = {"training": {**paper["training"], "n_range": [10, 1000],
                         "config": {"stream": {"relation_fraction": 0.4}}}}
    assert training_range(wide) == (10, 32, RELATIONS_RHO_MAX) and max_rows(wide) == 1000
    assert training_range({}) == (10, 32, 25 / 26) and max_rows({}) == 500  # a card that does not say
