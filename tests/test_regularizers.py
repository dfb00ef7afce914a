"""Regularizers as parts: custom ones, named, searchable, combined, checked."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from _registry import FAST
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from torch import nn

from skae import Autoencoder, Corruption, DenoisingAutoencoder, NoiseCorruption, Penalty

SETTINGS = {**FAST, "n_components": 4, "random_state": 0}


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:200] / 16


class CodeEnergy(Penalty):
    """Squared norm of each row's code."""

    def __init__(self, weight=0.1):
        self.weight = weight

    def build(self, estimator, module):
        return module, lambda output, X, module: output["code"].pow(2).sum(dim=1)


class AddOne(nn.Module):
    """Add 1 to every value in training mode."""

    def forward(self, x):
        return x + 1 if self.training else x


class PlusOne(Corruption):
    def build(self, X, seed):
        return AddOne()


class Doubling(nn.Module):
    def forward(self, x):
        return 2 * x if self.training else x


class Double(Corruption):
    def build(self, X, seed):
        return Doubling()


def fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def test_a_custom_penalty_adds_its_weighted_term_and_is_recorded(X):
    est = fit(Autoencoder(**SETTINGS, regularizers=[("energy", CodeEnergy(0.1))]), X)
    history = est.net_.history
    np.testing.assert_allclose(
        history[:, "train_loss"],
        np.add(history[:, "train_reconstruction"], 0.1 * np.array(history[:, "train_energy"])),
        rtol=1e-5,
    )
    # The penalty shrinks the codes against the same fit without it.
    plain = fit(Autoencoder(**SETTINGS), X)
    assert np.square(est.transform(X)).sum() < np.square(plain.transform(X)).sum()


def test_named_regularizers_are_searchable_clonable_and_saved(X):
    est = Autoencoder(**SETTINGS, regularizers=[("energy", CodeEnergy(0.1))])
    assert est.get_params()["energy__weight"] == 0.1
    est.set_params(energy__weight=0.3)
    assert est.regularizers[0][1].weight == 0.3
    copy = clone(est)
    assert copy.regularizers[0][1] is not est.regularizers[0][1]
    assert copy.get_params()["energy__weight"] == 0.3
    search = GridSearchCV(est, {"energy__weight": [0.0, 10.0]}, cv=2)
    fit(search, X)
    assert [p["energy__weight"] for p in search.cv_results_["params"]] == [0.0, 10.0]
    best = search.best_estimator_
    assert best.regularizers[0][1].weight == search.best_params_["energy__weight"]
    assert est.regularizers[0][1].weight == 0.3  # the search worked on clones
    restored = pickle.loads(pickle.dumps(fit(est, X)))
    np.testing.assert_array_equal(restored.transform(X), est.transform(X))
    assert restored.net_.loss_terms[0][:2] == ("energy", 0.3)


def test_corruptions_apply_in_order_in_training_only(X):
    est = fit(
        Autoencoder(**SETTINGS, regularizers=[("plus", PlusOne()), ("double", Double())]), X
    )
    module = est.net_.module_
    batch = torch.zeros(2, X.shape[1])
    assert torch.equal(module.train()(batch)["input"], torch.full_like(batch, 2.0))
    assert torch.equal(module.eval()(batch)["input"], batch)
    np.testing.assert_array_equal(est.transform(X), est.transform(X))


def test_a_zero_weight_penalty_is_left_out(X):
    est = fit(Autoencoder(**SETTINGS, regularizers=[("energy", CodeEnergy(0.0))]), X)
    assert "train_energy" not in est.net_.history[-1]
    assert est.net_.loss_terms == []


def test_a_family_and_a_user_regularizer_combine(X):
    dae = DenoisingAutoencoder(**SETTINGS, regularizers=[("energy", CodeEnergy(0.1))])
    fit(dae, X)
    assert "train_energy" in dae.net_.history[-1]
    assert dae.net_.module_.corruption.fraction == 0.25  # the family's masking


@pytest.mark.parametrize(
    "regularizers, message",
    [
        ([CodeEnergy()], "list of \\(name, regularizer\\) tuples"),
        ([("a", CodeEnergy()), ("a", PlusOne())], "names? .*unique|repeats"),
        ([("max_iter", CodeEnergy())], "conflict"),
        ([("a__b", CodeEnergy())], "__"),
        ([("scaler", object())], "expected a skae.Corruption, skae.Penalty or skae.Constraint"),
        ([("energy", CodeEnergy(weight=-1.0))], "weight"),
    ],
    ids=["bare object", "repeated name", "parameter name", "double underscore", "wrong type",
         "negative weight"],
)
def test_bad_regularizers_are_clear_errors(X, regularizers, message):
    with pytest.raises(ValueError, match=message):
        Autoencoder(**SETTINGS, regularizers=regularizers).fit(X)


def test_a_user_noise_named_like_a_family_parameter_is_refused(X):
    # DenoisingAutoencoder has a parameter "noise": <name>__level would clash.
    dae = DenoisingAutoencoder(**SETTINGS, regularizers=[("noise", NoiseCorruption())])
    with pytest.raises(ValueError, match="'noise'"):
        dae.fit(X)
