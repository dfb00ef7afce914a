"""Every constructor parameter reaches the fit.

A parameter that is stored and validated but never used (``alpha`` once was
built into the optimizer's arguments and then dropped) passes every other
test. Here each parameter is changed on its own, with everything else fixed,
and the fitted model must differ from the baseline fit.
"""

import warnings

import numpy as np
import pytest
from _registry import ESTIMATOR_CLASSES
from sklearn.base import clone
from sklearn.datasets import load_digits

from skae import ConvolutionalArchitecture, SparsityPenalty

BASE = {"n_components": 3, "hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0}
# Without early stopping: a fit that keeps PCA's start ends as PCA of every
# row, which no training parameter would change.
BASE |= {"device": "cpu", "tol": 0.0, "early_stopping": False}

# parameter -> (context it needs to matter, changed value)
CHANGES = {
    "activation": ({}, "tanh"),
    "alpha": ({}, 1.0),
    "architecture": ({}, ConvolutionalArchitecture(image_shape=(8, 8), channels=(4,))),
    "batch_size": ({}, 16),
    "code_activation": ({}, "tanh"),
    # From a random start the network of the held-out split is the fit's.
    # From PCA's, a network that beats it is trained again on every row for
    # its best epoch count, which here is max_iter's 3: the fit without early
    # stopping, as it should be.
    "early_stopping": ({"validation_fraction": 0.5, "init": "random"}, True),
    "init": ({}, "random"),
    "learning_rate": ({}, "cosine"),
    "regularizers": ({}, [("extra", SparsityPenalty("l1", weight=0.1))]),
    "hidden_layer_sizes": ({}, (8,)),
    "learning_rate_init": ({}, 1e-2),
    "loss": ({}, "bce"),
    "max_iter": ({}, 2),
    "n_iter_no_change": ({"tol": 1e3, "max_iter": 10}, 3),
    "tol": (
        {"n_iter_no_change": 3, "early_stopping": False, "max_iter": 10, "init": "random"},
        1e3,
    ),
    "pretraining": ({}, "greedy"),
    "pretraining_max_iter": ({"pretraining": "greedy", "hidden_layer_sizes": (16, 8)}, 1),
    "tied_weights": ({}, True),
    # From a random start: 3 epochs from PCA's start do not beat it beyond
    # noise, so either split would end as PCA of every row.
    "validation_fraction": ({"early_stopping": True, "init": "random"}, 0.3),
    "noise": ({}, "gaussian"),
    "noise_level": ({}, 0.6),
    "sparsity": ({}, "l1"),
    "sparsity_target": ({}, 0.3),
    "sparsity_weight": ({}, 1.0),
    "contraction_weight": ({}, 1.0),
    "beta": ({}, 5.0),
}
CONV = {"architecture": ConvolutionalArchitecture(image_shape=(8, 8), channels=(4,))}
ARCHITECTURE_CHANGES = {
    "architecture__channels": (8,),
    "architecture__kernel_size": 5,
    "architecture__activation": "tanh",
    "architecture__upsampling": "transposed",
}
# Parameters a family fixes: changing them is a clear ValueError, not a no-op.
FIXED_BY_FAMILY = {
    ("VariationalAutoencoder", "init"),
    ("VariationalAutoencoder", "code_activation"),
    ("VariationalAutoencoder", "tied_weights"),
    ("VariationalAutoencoder", "pretraining"),
}
# Values a family needs instead: init="random" is what auto means for a VAE.
FAMILY_CHANGES = {("VariationalAutoencoder", "init"): "pca"}
# Contexts a family needs for a parameter to apply.
FAMILY_CONTEXTS = {
    ("SparseAutoencoder", "code_activation"): {"sparsity": "l1"},
    # A logistic code starts at random anyway; a linear one starts at PCA.
    ("SparseAutoencoder", "init"): {"sparsity": "l1", "code_activation": "identity"},
    ("VariationalAutoencoder", "pretraining_max_iter"): None,  # no greedy pretraining
}
# Parameters that do not change a single fit on purpose: they choose where or
# how loudly it runs, or how the next fit starts; tests elsewhere cover them.
NOT_FIT_SETTINGS = {"verbose", "device", "callbacks", "warm_start", "random_state"}


def cases():
    for Estimator in ESTIMATOR_CLASSES:
        names = set(Estimator().get_params(deep=False)) - NOT_FIT_SETTINGS - {"n_components"}
        assert names <= set(CHANGES), f"{Estimator.__name__}: add {names - set(CHANGES)} here"
        for name in sorted(names):
            context, value = CHANGES[name]
            context = FAMILY_CONTEXTS.get((Estimator.__name__, name), context)
            value = FAMILY_CHANGES.get((Estimator.__name__, name), value)
            if context is None:
                continue
            yield pytest.param(Estimator, context, {name: value}, id=f"{Estimator.__name__}-{name}")
        for name, value in ARCHITECTURE_CHANGES.items():
            yield pytest.param(Estimator, CONV, {name: value}, id=f"{Estimator.__name__}-{name}")


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:100] / 16


def fitted_state(Estimator, params, X):
    # set_params changes nested objects (the architecture) in place: clone.
    model = Estimator(**BASE).set_params(**clone(params, safe=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    return model.transform(X), model.n_iter_


@pytest.mark.parametrize(("Estimator", "context", "change"), list(cases()))
def test_each_parameter_changes_the_fit(Estimator, context, change, X):
    if (Estimator.__name__, *change) in FIXED_BY_FAMILY:
        with pytest.raises(ValueError, match=next(iter(change))):
            fitted_state(Estimator, {**context, **change}, X)
        return
    codes, n_iter = fitted_state(Estimator, context, X)
    changed_codes, changed_n_iter = fitted_state(Estimator, {**context, **change}, X)
    assert n_iter != changed_n_iter or not np.array_equal(codes, changed_codes)
