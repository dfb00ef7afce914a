"""Property-based tests: random shapes, dtypes, scales, non-finite values, batch sizes.

For every family, hypothesis draws tiny problems (1 row or 1 feature
included, codes wider than the input, values from 1e-6 to 1e6 in size,
batches from 1 row to more than the data) and checks that

- finite input gives finite codes, reconstructions and scores, or the
  divergence ``ValueError`` (never NaN output);
- NaN or infinite input gives a ``ValueError`` naming it;
- the caller's array is never modified;
- shapes and dtypes follow the documented policy.

The runs are derandomized (the same examples on every run) and small:
``max_examples`` per family, tiny networks and at most 3 epochs.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skae import (
    VAE,
    Autoencoder,
    ContractiveAutoencoder,
    ConvolutionalArchitecture,
    DenoisingAutoencoder,
    SparseAutoencoder,
)

PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FAMILIES = {
    "Autoencoder": lambda draw: Autoencoder(
        tied_weights=draw(st.booleans()),
        activation=draw(st.sampled_from(["relu", "tanh", "logistic", "identity"])),
    ),
    "Autoencoder-conv": lambda draw: Autoencoder(
        architecture=ConvolutionalArchitecture(channels=(2,))
    ),
    "DenoisingAutoencoder": lambda draw: DenoisingAutoencoder(
        noise=draw(st.sampled_from(["masking", "gaussian", "salt_and_pepper"])),
        noise_level=draw(st.floats(0, 1)),
    ),
    "SparseAutoencoder": lambda draw: SparseAutoencoder(
        **draw(
            st.sampled_from([{"sparsity": "l1"}, {"sparsity": "kl", "code_activation": "logistic"}])
        )
    ),
    "ContractiveAutoencoder": lambda draw: ContractiveAutoencoder(),
    "VAE": lambda draw: VAE(),
}

NON_FINITE_MESSAGE = "NaN|infinity|too large"
DIVERGENCE_MESSAGE = "diverged.*learning_rate_init.*scale the data"


@st.composite
def problems(draw, family):
    """An estimator with tiny settings and data to fit it on."""
    n_rows = draw(st.integers(1, 12))
    n_features = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scale = 10.0 ** draw(st.integers(-6, 6))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n_rows, n_features)) * scale).astype(dtype)
    est = FAMILIES[family](draw).set_params(
        n_components=draw(st.integers(1, 8)),
        hidden_layer_sizes=draw(st.sampled_from([(), (3,)])),
        max_iter=draw(st.integers(1, 3)),
        batch_size=draw(st.integers(1, n_rows + 3)),
        learning_rate_init=draw(st.sampled_from([1e-3, 1e-1])),
        random_state=seed,
        device="cpu",
    )
    if est.hidden_layer_sizes == () and isinstance(est, ContractiveAutoencoder):
        # The closed-form penalty needs an elementwise code activation: any is.
        est.set_params(code_activation=draw(st.sampled_from(["identity", "logistic"])))
    return est, X


def fit_or_diverge(est, X):
    """Fit; a divergence must be the documented error. Return whether it fitted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(X)
        except ValueError as exc:
            assert "diverged" in str(exc), f"unexpected ValueError: {exc}"
            assert "learning_rate_init" in str(exc) and "scale the data" in str(exc)
            return False
    return True


def check_finite_input(est, X):
    original = X.copy()
    fitted = fit_or_diverge(est, X)
    np.testing.assert_array_equal(X, original)
    if not fitted:
        return
    Z = est.transform(X)
    assert Z.shape == (X.shape[0], est.n_components) and Z.dtype == np.float32
    assert np.isfinite(Z).all(), "finite input gave non-finite codes"
    X_back = est.inverse_transform(Z)
    assert X_back.shape == X.shape and X_back.dtype == np.float32
    assert np.isfinite(X_back).all(), "finite codes gave non-finite reconstructions"
    scores = est.score_samples(X)
    assert scores.shape == (X.shape[0],) and scores.dtype == np.float64
    assert np.isfinite(scores).all(), "finite input gave non-finite scores"
    np.testing.assert_array_equal(X, original)


def check_non_finite_input(est, X, data):
    value = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    row = data.draw(st.integers(0, X.shape[0] - 1))
    column = data.draw(st.integers(0, X.shape[1] - 1))
    bad = X.copy()
    bad[row, column] = value
    original = bad.copy()
    with pytest.raises(ValueError, match=NON_FINITE_MESSAGE):
        est.fit(bad)
    np.testing.assert_array_equal(bad, original)
    if fit_or_diverge(est, X):
        for method in (est.transform, est.score_samples):
            with pytest.raises(ValueError, match=NON_FINITE_MESSAGE):
                method(bad)
        codes = np.zeros((1, est.n_components), dtype=X.dtype)
        codes[0, data.draw(st.integers(0, est.n_components - 1))] = value
        with pytest.raises(ValueError, match=NON_FINITE_MESSAGE):
            est.inverse_transform(codes)
    np.testing.assert_array_equal(bad, original)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_any_small_problem_fits_or_fails_clearly(family, data):
    est, X = data.draw(problems(family))
    if data.draw(st.booleans()):
        check_finite_input(est, X)
    else:
        check_non_finite_input(est, X, data)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_extreme_data_and_learning_rate_give_finite_output_or_the_divergence_error(family, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    X = rng.standard_normal((20, 4)) * data.draw(st.sampled_from([1e8, 1e12, 1e16]))
    est = FAMILIES[family](data.draw).set_params(
        n_components=2,
        hidden_layer_sizes=(4,),
        max_iter=3,
        learning_rate_init=data.draw(st.sampled_from([1.0, 1e3])),
        random_state=0,
        device="cpu",
    )
    check_finite_input(est, X)
