"""AutoencoderClassifier and AutoencoderRegressor: pretrain, then fine-tune the encoder.

scikit-learn's estimator checks for both kinds, the semi-supervised
convention (``-1`` = unlabelled), reusing a fitted autoencoder through
``FrozenEstimator``, freezing the encoder, training from scratch, model
selection, persistence (plain data only, CUDA-saved models load on the CPU)
and reproducibility. Small networks and few epochs: every configuration
fits in well under a second.
"""

import copy
import inspect
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _registry import SUPERVISED, SUPERVISED_AE, SUPERVISED_CLASSES, SUPERVISED_FAST
from _unpickling import loads_without_torch
from numpydoc.docscrape import ClassDoc
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch.exceptions import DeviceWarning

from skae import (
    VAE,
    Autoencoder,
    AutoencoderClassifier,
    AutoencoderRegressor,
    ConvolutionalArchitecture,
    DenoisingAutoencoder,
    SparseAutoencoder,
)
from skae.nn import ConvEncoder, MLPEncoder
from skae.nn._supervised import FineTuningModule, virtual_adversarial_loss

HAS_CUDA = torch.cuda.is_available()

# The registry's settings: a pretraining of a few epochs and a fine-tuning
# long enough for the accuracy and R^2 thresholds of scikit-learn's checks.
FAST_AE = SUPERVISED_AE
FAST = SUPERVISED_FAST


def fast_classifier(autoencoder=None, **params):
    autoencoder = Autoencoder(**FAST_AE) if autoencoder is None else autoencoder
    return AutoencoderClassifier(autoencoder, **{**FAST, **params})


def fast_regressor(autoencoder=None, **params):
    autoencoder = Autoencoder(**FAST_AE) if autoencoder is None else autoencoder
    return AutoencoderRegressor(autoencoder, **{**FAST, **params})


@parametrize_with_checks(list(SUPERVISED.values()))
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a 3-epoch autoencoder's warnings
        check(estimator)


def test_every_public_classifier_and_regressor_is_checked():
    checked = {type(estimator) for estimator in SUPERVISED.values()}
    assert SUPERVISED_CLASSES == [AutoencoderClassifier, AutoencoderRegressor]
    missing = [cls.__name__ for cls in SUPERVISED_CLASSES if cls not in checked]
    assert not missing, f"add {missing} to SUPERVISED in tests/_registry.py"


# ------------------------------------------------------------------ data


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


@pytest.fixture(scope="module")
def semi(digits):
    """500 rows, 60 of them labelled, and 200 test rows.

    500 rows hold out 50, so one split decides whether the pretrained
    autoencoder beats PCA (on fewer, every held-out fold does, for time).
    """
    X, y = digits
    rng = np.random.RandomState(0)
    y_semi = np.full(500, -1)
    labelled = rng.choice(500, 60, replace=False)
    y_semi[labelled] = y[labelled]
    return X[:500], y_semi, X[1000:1200], y[1000:1200]


def quiet_fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y)


def encoder_state(module):
    return {k: v.detach().clone() for k, v in module.encoder.state_dict().items()}


# ------------------------------------------------------- semi-supervised


def test_unlabelled_rows_act_through_the_pretraining_only(semi):
    X, y_semi, _, _ = semi
    clf = quiet_fit(fast_classifier(random_state=0), X, y_semi)
    labelled = y_semi != -1
    # The autoencoder trained on every row, the unlabelled ones included ...
    assert clf.autoencoder_.n_features_in_ == X.shape[1]
    assert -1 not in clf.classes_
    # ... and every fine-tuning epoch saw the labelled rows only.
    for epoch in clf.net_.history:
        assert sum(batch["train_batch_size"] for batch in epoch["batches"]) == labelled.sum()
    # The same pretrained autoencoder, frozen, gives the same model.
    again = fast_classifier(FrozenEstimator(clf.autoencoder_), random_state=0)
    quiet_fit(again, X, y_semi)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_unlabelled_rows_change_the_pretraining(semi):
    X, y_semi, _, _ = semi
    clf = quiet_fit(fast_classifier(random_state=0), X, y_semi)
    labelled = y_semi != -1
    fewer = quiet_fit(fast_classifier(random_state=0), X[labelled], y_semi[labelled])
    assert not np.allclose(fewer.predict_proba(X), clf.predict_proba(X))


def test_pretraining_on_unlabelled_rows_helps_with_few_labels(semi):
    X, y_semi, X_test, y_test = semi
    ae = Autoencoder(n_components=16, hidden_layer_sizes=(64,), max_iter=30, device="cpu")
    params = {"max_iter": 100, "learning_rate_init": 1e-3, "device": "cpu"}
    scores = {}
    for pretrain in (True, False):
        accuracies = []
        for seed in range(3):
            clf = AutoencoderClassifier(ae, pretrain=pretrain, random_state=seed, **params)
            accuracies.append(quiet_fit(clf, X, y_semi).score(X_test, y_test))
        scores[pretrain] = np.mean(accuracies)
    assert scores[True] > scores[False] + 0.02, scores


def test_string_and_object_labels_with_unlabelled_rows(semi):
    X, y_semi, _, _ = semi
    names = np.array([f"digit {d}" for d in range(10)])
    y_obj = names[np.maximum(y_semi, 0)].astype(object)
    y_obj[y_semi == -1] = -1
    clf = quiet_fit(fast_classifier(random_state=0), X, y_obj)
    assert list(clf.classes_) == sorted(set(names[np.unique(y_semi[y_semi != -1])]))
    assert set(clf.predict(X)) <= set(clf.classes_)
    # Plain string labels hold no unlabelled rows.
    y_str = names[np.maximum(y_semi, 0)]
    clf = quiet_fit(fast_classifier(random_state=0), X, y_str)
    assert len(clf.classes_) == len(np.unique(y_str))


def test_float_labels_with_minus_one_are_unlabelled(semi):
    X, y_semi, _, _ = semi
    clf = quiet_fit(fast_classifier(random_state=0), X, y_semi.astype(float))
    assert -1.0 not in clf.classes_


@pytest.mark.parametrize(
    "labels, message",
    [(np.full(40, -1), "every label is -1"), (np.full(40, 3), r"1 class \(np.int64\(3\)\)")],
)
def test_too_few_labelled_classes_are_refused_clearly(digits, labels, message):
    X, _ = digits
    with pytest.raises(ValueError, match=message):
        fast_classifier().fit(X[: len(labels)], labels)


def test_minus_one_beside_a_single_class_is_a_class(digits):
    """Binary labels {-1, 1}: -1 cannot mean unlabelled when it leaves one class."""
    X, y = digits
    X, y = X[y < 2][:100], y[y < 2][:100]
    labels = np.where(y == 0, -1, 1)
    clf = quiet_fit(fast_classifier(random_state=0), X, labels)
    np.testing.assert_array_equal(clf.classes_, [-1, 1])
    assert clf.score(X, labels) > 0.9
    # With two other classes, -1 marks the unlabelled rows.
    three = np.where(np.arange(100) % 3 == 0, -1, y)
    assert list(quiet_fit(fast_classifier(random_state=0), X, three).classes_) == [0, 1]


# ------------------------------------------------------ a fitted autoencoder


def test_frozen_autoencoder_is_reused_as_it_is(semi):
    X, y_semi, _, _ = semi
    ae = quiet_fit(Autoencoder(**FAST_AE, random_state=0), X, None)
    weights = {k: v.clone() for k, v in ae.net_.module_.state_dict().items()}
    codes, n_iter = ae.transform(X), ae.n_iter_
    clf = quiet_fit(fast_classifier(FrozenEstimator(ae), random_state=0), X, y_semi)
    assert clf.autoencoder_.estimator is ae
    # Not refitted, and not changed by the fine-tuning of its encoder's copy.
    assert ae.n_iter_ == n_iter
    for key, value in ae.net_.module_.state_dict().items():
        torch.testing.assert_close(value, weights[key], rtol=0, atol=0)
    np.testing.assert_array_equal(ae.transform(X), codes)
    fine_tuned = clf.net_.module_.encoder.state_dict()
    assert any(not torch.equal(fine_tuned[k], v) for k, v in encoder_state(ae.net_.module_).items())


def test_a_frozen_autoencoder_must_be_fitted_and_fit_the_data(semi):
    X, y_semi, _, _ = semi
    with pytest.raises(NotFittedError, match="not fitted; fit Autoencoder first"):
        fast_classifier(FrozenEstimator(Autoencoder(**FAST_AE))).fit(X, y_semi)
    ae = quiet_fit(Autoencoder(**FAST_AE), X[:, :32], None)
    with pytest.raises(ValueError, match="X has 64 features, but the frozen Autoencoder"):
        fast_classifier(FrozenEstimator(ae)).fit(X, y_semi)
    with pytest.raises(ValueError, match="pretrain=False builds the encoder at random"):
        fast_classifier(FrozenEstimator(ae), pretrain=False).fit(X[:, :32], y_semi)


@pytest.mark.parametrize("autoencoder", [MinMaxScaler(), FrozenEstimator(MinMaxScaler())])
def test_only_skae_autoencoders_are_accepted(semi, autoencoder):
    X, y_semi, _, _ = semi
    with pytest.raises(TypeError, match="needs a skae autoencoder.*got MinMaxScaler"):
        fast_classifier(autoencoder).fit(X, y_semi)


def test_the_autoencoders_parameters_are_nested_parameters():
    clf = fast_classifier()
    params = clf.get_params()
    assert params["autoencoder__n_components"] == 4
    clf.set_params(autoencoder__n_components=7, autoencoder__architecture=None)
    assert clf.autoencoder.n_components == 7


# ------------------------------------------------------ freezing, scratch


def test_freeze_encoder_trains_only_the_head(semi):
    X, y_semi, _, _ = semi
    clf = quiet_fit(fast_classifier(freeze_encoder=True, random_state=0), X, y_semi)
    pretrained = encoder_state(clf.autoencoder_.net_.module_)
    for key, value in clf.net_.module_.encoder.state_dict().items():
        torch.testing.assert_close(value, pretrained[key], rtol=0, atol=0)
    assert clf.n_iter_ >= 1
    free = quiet_fit(fast_classifier(random_state=0), X, y_semi)
    changed = free.net_.module_.encoder.state_dict()
    assert any(not torch.equal(changed[k], v) for k, v in pretrained.items())


def test_without_pretraining_the_autoencoder_is_not_trained(semi):
    X, y_semi, X_test, y_test = semi
    clf = quiet_fit(fast_classifier(pretrain=False, random_state=0), X, y_semi)
    assert not hasattr(clf.autoencoder_, "net_")
    assert clf.score(X_test, y_test) > 0.3
    # The same network as the pretrained one's, started elsewhere.
    pretrained = quiet_fit(fast_classifier(random_state=0), X, y_semi)
    shapes = [p.shape for p in clf.net_.module_.parameters()]
    assert shapes == [p.shape for p in pretrained.net_.module_.parameters()]


def test_without_pretraining_the_network_is_the_plain_mlp(semi):
    # As MLPClassifier or a hand-written torch loop builds it: the head at
    # PyTorch's default start (uniform, bounded by 1 / sqrt(fan_in)), no
    # linear probe, the code not rescaled.
    X, y_semi, _, _ = semi
    clf, module, _ = _start(fast_classifier(pretrain=False, random_state=0), X, y_semi)
    torch.testing.assert_close(module.code_mean, torch.zeros(module.code_width), rtol=0, atol=0)
    torch.testing.assert_close(module.code_scale, torch.ones(module.code_width), rtol=0, atol=0)
    head = module.head.weight.detach()
    bound = 1 / module.code_width**0.5
    assert head.abs().max() <= bound and head.abs().mean() > bound / 4
    x = torch.as_tensor(X[:5])
    plain = torch.nn.Sequential(module.encoder, module.head).eval()
    torch.testing.assert_close(module.eval()(x), plain(x))
    other, *_ = _start(fast_classifier(pretrain=False, random_state=1), X, y_semi)
    assert not torch.equal(other.net_.module_.head.weight, module.head.weight)


@pytest.mark.parametrize(
    "autoencoder",
    [
        VAE(**FAST_AE),
        DenoisingAutoencoder(**FAST_AE),
        SparseAutoencoder(**FAST_AE),
        Autoencoder(**{**FAST_AE, "pretraining": "greedy", "pretraining_max_iter": 1}),
        Autoencoder(
            **{**FAST_AE, "architecture": ConvolutionalArchitecture((8, 8), channels=(4,))}
        ),
    ],
    ids=["vae", "denoising", "sparse", "greedy", "conv"],
)
def test_every_family_and_architecture_fine_tunes(semi, autoencoder):
    X, y_semi, X_test, y_test = semi
    clf = quiet_fit(fast_classifier(autoencoder, random_state=0), X, y_semi)
    assert clf.score(X_test, y_test) > 0.4
    # The head reads the code: the posterior mean for the VAE.
    module = clf.autoencoder_.net_.module_.eval()
    with torch.no_grad():
        x = torch.as_tensor(X[:5])
        np.testing.assert_array_equal(clf.net_.module_.code(x).shape, (5, 4))
        if isinstance(autoencoder, VAE):
            assert clf.net_.module_.encoder(x).shape[1] == 8
            assert torch.equal(module.encode(x), module.encoder(x)[:, :4])


def test_sparse_input(semi):
    X, y_semi, X_test, _ = semi
    dense = quiet_fit(fast_classifier(random_state=0), X, y_semi)
    sparse = quiet_fit(fast_classifier(random_state=0), sp.csr_matrix(X), y_semi)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X_test)), dense.predict_proba(X_test), atol=1e-5
    )


def test_divergence_stops_with_advice(semi):
    X, y_semi, _, _ = semi
    clf = fast_classifier(learning_rate_init=1e20, max_iter=5, random_state=0)
    with pytest.raises(ValueError, match="Training diverged.*Lower learning_rate_init"):
        quiet_fit(clf, X, y_semi)
    # The weights of the last finite epoch are kept.
    assert all(torch.isfinite(p).all() for p in clf.net_.module_.parameters())


def test_early_stopping_never_ends_worse_than_its_start(semi):
    X, y_semi, _, _ = semi
    clf = quiet_fit(
        fast_classifier(early_stopping=True, learning_rate_init=1.0, max_iter=15, random_state=0),
        X,
        y_semi,
    )
    assert clf.best_validation_score_ >= max(clf.validation_scores_)
    assert len(clf.validation_scores_) == clf.n_iter_


# ---------------------------------------------------------------- dropout


def _dropped(h, p, generator):
    """Dropout by hand: the closed form FineTuningModule must reproduce."""
    return h * (torch.rand(h.shape, generator=generator) >= p) / (1 - p)


def test_dropout_of_an_mlp_encoder_is_standard_dropout_on_each_hidden_layer():
    encoder = MLPEncoder(6, (5, 4), 3, activation="relu", code_activation="identity")
    module = FineTuningModule(encoder, 3, 2, dropout=0.5, input_dropout=0.25, seed=7)
    module.standardize_code_(torch.randn(20, 3))
    x = torch.rand(8, 6)
    g = torch.Generator().manual_seed(7)
    first, second, code_layer = encoder.linears
    h = _dropped(x, 0.25, g)
    h = _dropped(torch.relu(first(h)), 0.5, g)
    h = _dropped(torch.relu(second(h)), 0.5, g)
    code = (code_layer(h) - module.code_mean) / module.code_scale
    # The encoder called on its own, outside the module's forward, drops nothing.
    torch.testing.assert_close(encoder(x), encoder.eval()(x).detach(), rtol=0, atol=0)
    encoder.train()
    expected = module.head(_dropped(code, 0.5, g))
    torch.testing.assert_close(module(x), expected, rtol=0, atol=0)
    # Fresh masks at each step; none in evaluation mode, where the module
    # is the one without dropout.
    assert not torch.equal(module(x), expected)
    plain = FineTuningModule(encoder, 3, 2).eval()
    plain.load_state_dict(module.state_dict())
    module.eval()
    torch.testing.assert_close(module(x), plain(x), rtol=0, atol=0)


def test_dropout_of_a_conv_encoder_spares_the_layer_that_reads_the_rows():
    encoder = ConvEncoder((1, 8, 8), (4,), 3, dense_layer_sizes=(5,))
    module = FineTuningModule(encoder, 3, 2, dropout=0.3, seed=1)
    x = torch.rand(4, 64)
    g = torch.Generator().manual_seed(1)
    maps = torch.relu(encoder.convs[0](x.reshape(4, 1, 8, 8))).flatten(1)
    h = _dropped(torch.relu(encoder.dense[0](_dropped(maps, 0.3, g))), 0.3, g)
    expected = module.head(_dropped(encoder.code(h), 0.3, g))
    torch.testing.assert_close(module(x), expected, rtol=0, atol=0)


def test_dropout_with_a_frozen_encoder_drops_the_code_only():
    encoder = MLPEncoder(6, (5,), 3, activation="relu", code_activation="identity")
    module = FineTuningModule(encoder, 3, 2, freeze_encoder=True, dropout=0.5, seed=2).train()
    x = torch.rand(8, 6)
    torch.testing.assert_close(module.code(x), encoder.eval()(x), rtol=0, atol=0)
    g = torch.Generator().manual_seed(2)
    torch.testing.assert_close(module(x), module.head(_dropped(encoder(x), 0.5, g)))


def test_dropout_fits_reproducibly_and_changes_the_fit(semi):
    X, y_semi, X_test, y_test = semi
    a = quiet_fit(fast_classifier(dropout=0.3, input_dropout=0.1, random_state=0), X, y_semi)
    b = quiet_fit(fast_classifier(dropout=0.3, input_dropout=0.1, random_state=0), X, y_semi)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    plain = quiet_fit(fast_classifier(random_state=0), X, y_semi)
    assert not np.allclose(a.predict_proba(X_test), plain.predict_proba(X_test))
    assert a.score(X_test, y_test) > 0.4
    # The masks come from a private generator, not torch's global random state.
    torch.manual_seed(123)
    c = quiet_fit(fast_classifier(dropout=0.3, input_dropout=0.1, random_state=0), X, y_semi)
    np.testing.assert_array_equal(c.predict_proba(X_test), a.predict_proba(X_test))


def _start(estimator, X, y, **params):
    """The fitted estimator's head as it started: no step taken (frozen, lr ~ 0)."""
    params = {"freeze_encoder": True, "learning_rate_init": 1e-12, "max_iter": 1, **params}
    fitted = quiet_fit(estimator.set_params(**params), X, y)
    module = fitted.net_.module_
    codes = module.standardized_code(torch.as_tensor(X, dtype=torch.float32)).detach()
    return fitted, module, codes.double().numpy()


def test_with_dropout_the_regressor_head_starts_at_the_minimum_of_the_expected_loss():
    X, y = make_regression(120, 6, noise=5.0, random_state=0)
    y = y / y.std()
    p = 0.4
    reg, module, Z = _start(fast_regressor(random_state=0, dropout=p), X, y)
    # E over the masks of sum_i (y_i - b - w . (m_i * z_i) / (1 - p))**2, plus
    # the ridge's ||w||**2, is minimised in closed form: a ridge whose penalty
    # on w_j is 1 + p / (1 - p) * sum_i z_ij**2 (uncentred), the intercept free.
    Zc, yc = Z - Z.mean(axis=0), y - y.mean()
    penalty = 1 + p / (1 - p) * (Z**2).sum(axis=0)
    w = np.linalg.solve(Zc.T @ Zc + np.diag(penalty), Zc.T @ yc)
    b = y.mean() - Z.mean(axis=0) @ w
    head = module.head.weight.detach().double().numpy().ravel()
    np.testing.assert_allclose(head, w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(reg.predict(X), Z @ w + b, rtol=1e-4, atol=1e-4)
    # Without dropout it is the plain ridge of the codes.
    plain, _, Z0 = _start(fast_regressor(random_state=0), X, y)
    from sklearn.linear_model import Ridge

    np.testing.assert_allclose(
        plain.predict(X), Ridge(alpha=1.0).fit(Z0, y).predict(Z0), rtol=1e-4, atol=1e-3
    )


def test_alpha_is_an_l2_penalty_on_the_weights_that_spares_the_biases():
    # With the encoder frozen and every row in one batch, Adam with weight
    # decay alpha stops where the gradient of the mean squared error plus
    # alpha / 2 * ||w||**2 vanishes: the ridge of the codes with penalty
    # n * alpha / 2 on w and a free intercept.
    from sklearn.linear_model import Ridge

    X, y = make_regression(120, 6, noise=5.0, random_state=0)
    y = y / y.std()
    alpha = 0.5
    reg = quiet_fit(
        fast_regressor(
            random_state=0,
            freeze_encoder=True,
            alpha=alpha,
            max_iter=1500,
            n_iter_no_change=1500,
            learning_rate_init=1e-2,
            learning_rate="cosine",
            batch_size=len(X),
            tol=0.0,
        ),
        X,
        y,
    )
    module = reg.net_.module_
    Z = module.standardized_code(torch.as_tensor(X, dtype=torch.float32)).detach().double()
    ridge = Ridge(alpha=len(X) * alpha / 2).fit(Z.numpy(), y)
    head = module.head.weight.detach().double().numpy().ravel()
    np.testing.assert_allclose(head, ridge.coef_, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(module.head.bias.item(), ridge.intercept_, atol=1e-4)
    # Clearly shrunk from the unpenalised least squares.
    plain = np.linalg.lstsq(np.c_[Z.numpy(), np.ones(len(X))], y, rcond=None)[0][:-1]
    assert np.linalg.norm(head) < 0.9 * np.linalg.norm(plain)


def test_with_dropout_the_classifier_head_starts_with_a_lower_expected_loss(digits):
    # The probe fitted under dropout's penalty has a lower log-loss averaged
    # over dropout masks (the loss fine-tuning starts from) than the probe
    # fitted to the clean codes, and a lower one than the zero head's.
    X, y = digits
    X, y = X[:400], y[:400]
    p = 0.5
    clf, module, Z = _start(fast_classifier(random_state=0, dropout=p), X, y)
    from scipy.special import log_softmax
    from sklearn.linear_model import LogisticRegression

    masks = np.random.default_rng(0).random((200, *Z.shape)) >= p
    dropped = Z * masks / (1 - p)

    def expected_loss(weight, bias):
        logits = dropped @ weight.T + bias
        return -log_softmax(logits, axis=-1)[..., np.arange(len(y)), y].mean()

    start = expected_loss(
        module.head.weight.detach().double().numpy(), module.head.bias.detach().double().numpy()
    )
    clean = LogisticRegression(max_iter=100).fit(Z, y)
    prior = np.log(np.bincount(y) / len(y))
    assert start < expected_loss(clean.coef_, clean.intercept_)
    assert start < expected_loss(np.zeros_like(clean.coef_), prior)


@pytest.mark.parametrize("name", ["dropout", "input_dropout"])
@pytest.mark.parametrize("value", [1.0, -0.1])
def test_dropout_out_of_range_is_refused(semi, name, value):
    X, y_semi, _, _ = semi
    with pytest.raises(ValueError, match=name):
        fast_classifier(**{name: value}).fit(X, y_semi)
    with pytest.raises(ValueError, match=name):
        FineTuningModule(torch.nn.Linear(3, 2), 2, 1, **{name: value})


# ------------------------------------------------------------- regression


def test_multi_output_regression_keeps_the_shape_of_y():
    X, Y = make_regression(200, 10, n_targets=3, noise=1.0, random_state=0)
    Y = Y / Y.std(axis=0)
    reg = quiet_fit(fast_regressor(random_state=0, max_iter=100), X, Y)
    assert reg.n_outputs_ == 3
    assert reg.predict(X).shape == (200, 3)
    assert reg.score(X, Y) > 0.8
    column = quiet_fit(fast_regressor(random_state=0), X, Y[:, :1])
    assert column.predict(X).shape == (200, 1)
    flat = quiet_fit(fast_regressor(random_state=0), X, Y[:, 0])
    assert flat.predict(X).shape == (200,)
    np.testing.assert_allclose(flat.predict(X), column.predict(X).ravel())


def test_the_head_starts_as_the_linear_probe_of_the_codes():
    X, y = make_regression(100, 5, random_state=0)
    reg = quiet_fit(fast_regressor(freeze_encoder=True, learning_rate_init=1e-12, max_iter=1), X, y)
    # The head starts at the linear probe of the training codes, not at random.
    from sklearn.linear_model import Ridge

    codes = reg.net_.module_.standardized_code(torch.as_tensor(X, dtype=torch.float32)).detach()
    probe = Ridge(alpha=1.0).fit(codes.numpy(), y)
    np.testing.assert_allclose(reg.predict(X), probe.predict(codes.numpy()), rtol=1e-4, atol=1e-3)


# --------------------------------------------------------- model selection


def test_pipeline_grid_search_and_cross_validation(digits):
    X, y = digits
    X, y = X[:240] * 16, y[:240]
    pipe = Pipeline([("scale", MinMaxScaler()), ("clf", fast_classifier(random_state=0))])
    grid = {
        "clf__autoencoder__n_components": [3, 6],
        "clf__learning_rate_init": [1e-3, 1e-2],
        "clf__freeze_encoder": [False, True],
    }
    search = GridSearchCV(pipe, grid, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
        scores = cross_val_score(pipe, X, y, cv=3)
    assert set(search.best_params_) == set(grid)
    assert search.best_estimator_.named_steps["clf"].autoencoder_.n_components_ in (3, 6)
    assert scores.shape == (3,) and np.all(scores > 0.3)


# ------------------------------------------------------------ reproducibility


def test_same_random_state_same_model_and_seeded_pretraining(semi):
    X, y_semi, X_test, _ = semi
    a = quiet_fit(fast_classifier(random_state=3), X, y_semi)
    b = quiet_fit(fast_classifier(random_state=3), X, y_semi)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    # The autoencoder's random_state was None: drawn from the classifier's.
    assert a.autoencoder.random_state is None
    assert a.autoencoder_.random_state == b.autoencoder_.random_state is not None
    c = quiet_fit(fast_classifier(random_state=4), X, y_semi)
    assert not np.allclose(c.predict_proba(X_test), a.predict_proba(X_test))
    # A random_state given to the autoencoder is kept.
    own = quiet_fit(fast_classifier(Autoencoder(**FAST_AE, random_state=11)), X, y_semi)
    assert own.autoencoder_.random_state == 11


def test_default_autoencoder(semi):
    X, y_semi, X_test, y_test = semi
    clf = AutoencoderClassifier(max_iter=20, random_state=0, device="cpu")
    quiet_fit(clf, X, y_semi)
    assert type(clf.autoencoder_) is Autoencoder
    assert clf.autoencoder_.n_components_ == 16
    assert str(clf.autoencoder_.net_.device) == "cpu"
    assert clf.score(X_test, y_test) > 0.5


# ---------------------------------------------------------------- persistence


@pytest.mark.parametrize(
    "make",
    [
        lambda: fast_classifier(random_state=0),
        lambda: fast_classifier(VAE(**FAST_AE), freeze_encoder=True, random_state=0),
        lambda: fast_classifier(pretrain=False, learning_rate="cosine", random_state=0),
        lambda: fast_regressor(DenoisingAutoencoder(**FAST_AE), random_state=0),
        lambda: fast_classifier(dropout=0.2, input_dropout=0.1, random_state=0),
    ],
    ids=["classifier", "vae-frozen-encoder", "scratch-cosine", "regressor-denoising", "dropout"],
)
def test_pickle_holds_plain_data_and_predicts_the_same(semi, make, tmp_path):
    X, y_semi, X_test, _ = semi
    est = make()
    y = y_semi if isinstance(est, AutoencoderClassifier) else X[:, 20]
    quiet_fit(est, X, y)
    data = pickle.dumps(est)
    assert b"cuda" not in data
    restored = loads_without_torch(data)
    method = "predict_proba" if isinstance(est, AutoencoderClassifier) else "predict"
    np.testing.assert_array_equal(getattr(restored, method)(X_test), getattr(est, method)(X_test))
    if est.pretrain:
        np.testing.assert_array_equal(
            restored.autoencoder_.transform(X_test), est.autoencoder_.transform(X_test)
        )
    assert restored.loss_curve_ == est.loss_curve_
    joblib.dump(est, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(getattr(loaded, method)(X_test), getattr(est, method)(X_test))


def test_frozen_autoencoder_pickles_with_the_classifier(semi):
    X, y_semi, X_test, _ = semi
    ae = quiet_fit(Autoencoder(**FAST_AE, random_state=0), X, None)
    clf = quiet_fit(fast_classifier(FrozenEstimator(ae), random_state=0), X, y_semi)
    restored = loads_without_torch(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X_test), clf.predict_proba(X_test))
    np.testing.assert_array_equal(restored.autoencoder_.transform(X_test), ae.transform(X_test))


def _move_to_missing_device(state):
    """A saved net's state as a CUDA machine would have written it."""
    net = dict(state["net_"])
    net["device"] = "cuda:99"
    net["module_generators"] = {
        name: {key: ("cuda:99", value) for key, (_, value) in generators.items()}
        for name, generators in net["module_generators"].items()
    }
    return {**state, "net_": net}


def test_model_saved_on_a_missing_device_loads_on_the_cpu(semi):
    X, y_semi, X_test, _ = semi
    clf = quiet_fit(fast_classifier(DenoisingAutoencoder(**FAST_AE), random_state=0), X, y_semi)
    state = _move_to_missing_device(clf.__getstate__())
    ae_state = _move_to_missing_device(clf.autoencoder_.__getstate__())
    autoencoder = DenoisingAutoencoder.__new__(DenoisingAutoencoder)
    with pytest.warns(DeviceWarning, match="'cuda:99'.*loaded on the CPU"):
        autoencoder.__setstate__(ae_state)
    state["autoencoder_"] = autoencoder
    restored = AutoencoderClassifier.__new__(AutoencoderClassifier)
    with pytest.warns(DeviceWarning, match="'cuda:99'.*loaded on the CPU"):
        restored.__setstate__(state)
    assert str(restored.net_.device) == "cpu"
    np.testing.assert_array_equal(restored.predict_proba(X_test), clf.predict_proba(X_test))


def test_skops_round_trip(semi, tmp_path):
    skops_io = pytest.importorskip("skops.io")
    X, y_semi, X_test, _ = semi
    clf = quiet_fit(fast_classifier(random_state=0), X, y_semi)
    path = tmp_path / "model.skops"
    skops_io.dump(clf, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    # Only skae's own classes need trusting: no torch, skorch or builtins.
    assert sorted(t.split(".")[-1] for t in untrusted) == ["Autoencoder", "AutoencoderClassifier"]
    restored = skops_io.load(path, trusted=untrusted)
    np.testing.assert_array_equal(restored.predict_proba(X_test), clf.predict_proba(X_test))


_LOAD_WITHOUT_CUDA = """
import sys, warnings
import joblib, numpy as np, torch
assert not torch.cuda.is_available()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the DeviceWarning: loading on the CPU
    clf = joblib.load(sys.argv[1])
assert str(clf.net_.device) == "cpu", clf.net_.device
assert all(not p.is_cuda for p in clf.net_.module_.parameters())
np.save(sys.argv[3], clf.predict_proba(np.load(sys.argv[2])))
"""


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_cuda_model_loads_and_predicts_without_cuda(semi, tmp_path):
    import os
    import subprocess
    import sys

    X, y_semi, X_test, _ = semi
    autoencoder = Autoencoder(**{**FAST_AE, "device": "cuda"})
    gpu = quiet_fit(fast_classifier(autoencoder, device="cuda", random_state=0), X, y_semi)
    assert all(p.is_cuda for p in gpu.net_.module_.parameters())
    proba = gpu.predict_proba(X_test)
    path = tmp_path / "gpu_model.joblib"
    joblib.dump(gpu, path)
    same = joblib.load(path)
    np.testing.assert_allclose(same.predict_proba(X_test), proba, rtol=1e-6, atol=1e-9)
    np.save(tmp_path / "X.npy", X_test)
    subprocess.run(
        [
            sys.executable,
            "-c",
            _LOAD_WITHOUT_CUDA,
            str(path),
            str(tmp_path / "X.npy"),
            str(tmp_path / "P.npy"),
        ],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        check=True,
        timeout=120,
    )
    # float64 inference from the same weights: CPU and GPU agree closely.
    np.testing.assert_allclose(np.load(tmp_path / "P.npy"), proba, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------- documentation


@pytest.mark.parametrize("cls", [AutoencoderClassifier, AutoencoderRegressor])
def test_every_parameter_is_documented_once_with_its_default(cls):
    documented = ClassDoc(cls)["Parameters"]
    defaults = {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self"
    }
    assert [p.name for p in documented] == list(defaults)
    for parameter in documented:
        found = re.search(r"default=(.+)$", parameter.type)
        assert found, f"{cls.__name__}.{parameter.name} documents no default"
        assert eval(found.group(1)) == defaults[parameter.name], parameter.name


def test_classifier_and_regressor_share_parameters_and_defaults():
    def signature(cls):
        return [(n, p.default) for n, p in inspect.signature(cls.__init__).parameters.items()]

    assert signature(AutoencoderClassifier) == signature(AutoencoderRegressor)
    assert set(AutoencoderClassifier._parameter_constraints) == {
        n for n, _ in signature(AutoencoderClassifier) if n != "self"
    }
    assert clone(fast_classifier()).get_params()["max_iter"] == FAST["max_iter"]


def test_classifier_and_regressor_take_the_same_parameters_with_the_same_defaults():
    import inspect

    def defaults(cls):
        return {
            name: p.default
            for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self"
        }

    assert defaults(AutoencoderClassifier) == defaults(AutoencoderRegressor)
    clf = AutoencoderClassifier(max_iter=7, freeze_encoder=True)
    assert clf.get_params(deep=False) == {
        **defaults(AutoencoderClassifier),
        "max_iter": 7,
        "freeze_encoder": True,
    }


# ------------------------------------------------------------ dead units


def test_reinit_dead_units_redraws_the_dead_units_and_keeps_what_the_live_ones_compute():
    from skae.nn import init_parameters_
    from skae.nn._supervised import reinit_dead_units_

    encoder = MLPEncoder(6, (8, 5), 4, activation="relu", code_activation="relu")
    encoder = init_parameters_(encoder, torch.Generator().manual_seed(0))
    x = torch.rand(200, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # rows in [0, 1] never activate these units
        encoder[0].weight[[1, 3]] = -encoder[0].weight[[1, 3]].abs()
        encoder[0].bias[[1, 3]] = -1.0
        encoder[2].bias[0] = -100.0
        encoder[4].bias[2] = -100.0
    layers = [encoder[0], encoder[2], encoder[4]]
    before = [(layer.weight.clone(), layer.bias.clone()) for layer in layers]
    # The oracle: the dead units of each layer, from the layers' outputs.
    outputs, h = [], x
    with torch.no_grad():
        for module in encoder:
            h = module(h)
            if isinstance(module, torch.nn.ReLU):
                outputs.append(h)
    dead = [~(h > 0).any(dim=0) for h in outputs]
    assert dead[0][[1, 3]].all() and dead[1][0] and dead[2][2]

    unchanged = MLPEncoder(6, (8, 5), 4, activation="relu", code_activation="relu")
    unchanged.load_state_dict(encoder.state_dict())
    counts = reinit_dead_units_(unchanged, [x], torch.Generator(), redraw=False)
    assert counts == [int(d.sum()) for d in dead]
    pairs = zip(unchanged.parameters(), encoder.parameters(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)

    counts = reinit_dead_units_(encoder, [x[:120], x[120:]], torch.Generator().manual_seed(2))
    assert counts == [int(d.sum()) for d in dead]
    # Each layer with dead units takes the next fresh layer's rows, from one generator.
    generator = torch.Generator().manual_seed(2)
    for i, (layer, (weight, bias), d) in enumerate(zip(layers, before, dead, strict=True)):
        fresh = init_parameters_(torch.nn.Linear(layer.in_features, layer.out_features), generator)
        assert torch.equal(layer.weight[d], fresh.weight[d])
        assert torch.equal(layer.bias[d], fresh.bias[d])
        assert torch.equal(layer.bias[~d], bias[~d])
        live_rows = layer.weight[~d]
        if i > 0:  # the columns of the layer below's dead units read nothing now
            assert live_rows[:, dead[i - 1]].eq(0).all()
            keep = ~dead[i - 1]
            assert torch.equal(live_rows[:, keep], weight[~d][:, keep])
        else:
            assert torch.equal(live_rows, weight[~d])
    with torch.no_grad():
        code = encoder(x)
    live = ~dead[2]
    torch.testing.assert_close(code[:, live], outputs[2][:, live])
    assert (code[:, dead[2]] > 0).any()  # the redrawn code unit is alive on these rows


def test_fine_tuning_redraws_the_dead_units_of_a_pretrained_encoder_only():
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16
    y = y[:300]
    ae = Autoencoder(n_components=8, hidden_layer_sizes=(16,), init="random", max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # five epochs: worse than PCA
        ae.set_params(random_state=0).fit(X)
    first = ae.net_.module_.encoder[0]
    with torch.no_grad():  # kill hidden units 0 and 1: no pixel in [0, 1] activates them
        first.weight[:2] = -first.weight[:2].abs()
        first.bias[:2] = -1.0
    weight = first.weight.detach().clone()

    clf = AutoencoderClassifier(FrozenEstimator(ae), reinit_dead_units=True, max_iter=3)
    clf.set_params(random_state=0).fit(X, y)
    tuned = clf.net_.module_.encoder[0]
    assert clf.n_dead_units_[0] >= 2
    assert not torch.equal(tuned.weight[:2], weight[:2])
    with torch.no_grad():
        hidden = torch.relu(tuned(torch.as_tensor(X, dtype=torch.float32)))
    assert (hidden[:, :2] > 0).any(dim=0).all()  # they learn now
    assert torch.equal(first.weight, weight)  # the autoencoder itself is untouched

    frozen = {"reinit_dead_units": True, "freeze_encoder": True}
    for params in ({}, {"reinit_dead_units": False}, frozen):  # the default: off
        kept = AutoencoderClassifier(FrozenEstimator(ae), max_iter=3, random_state=0, **params)
        kept.fit(X, y)
        assert kept.n_dead_units_ == clf.n_dead_units_
        # Zero gradient on every row: the dead units stay as they were, and dead.
        assert torch.equal(kept.net_.module_.encoder[0].weight[:2], weight[:2])


# ------------------------------------------------ virtual adversarial training


def _linear(weight, bias):
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0]).double()
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


def test_virtual_adversarial_move_of_a_linear_regressor_is_its_top_singular_direction():
    # f(x) = W x + b changes by W r: the worst r of length eps gives
    # eps**2 sigma_1(W)**2, averaged over the k outputs, for every row.
    rng = torch.Generator().manual_seed(0)
    W = torch.randn(3, 6, generator=rng, dtype=torch.float64)
    x = torch.randn(10, 6, generator=rng, dtype=torch.float64)
    eps = 0.7
    loss = virtual_adversarial_loss(
        _linear(W, torch.zeros(3, dtype=torch.float64)),
        x,
        eps,
        torch.Generator().manual_seed(1),
        divergence="squared_error",
        n_power_iterations=50,
    ).detach()
    sigma = torch.linalg.matrix_norm(W, ord=2)
    assert float(loss) == pytest.approx(float(eps**2 * sigma**2 / 3), rel=1e-9)
    # One power step from a random start finds less than the worst move.
    once = virtual_adversarial_loss(
        _linear(W, torch.zeros(3, dtype=torch.float64)),
        x,
        eps,
        torch.Generator().manual_seed(1),
        divergence="squared_error",
    ).detach()
    assert 0 < float(once) < float(loss)


def test_virtual_adversarial_loss_of_a_softmax_is_half_its_largest_fisher_curvature():
    # For a small move r, KL(p(x) || p(x + r)) = r' F r / 2 with the Fisher
    # matrix F = W' (diag(p) - p p') W of the logits W x + b: the worst move
    # of length eps gives eps**2 lambda_max(F) / 2, row by row.
    rng = torch.Generator().manual_seed(0)
    W = torch.randn(4, 5, generator=rng, dtype=torch.float64)
    b = torch.randn(4, generator=rng, dtype=torch.float64)
    x = torch.randn(8, 5, generator=rng, dtype=torch.float64)
    eps = 1e-3
    loss = virtual_adversarial_loss(
        _linear(W, b), x, eps, torch.Generator().manual_seed(1), n_power_iterations=100
    ).detach()
    p = torch.softmax(x @ W.T + b, dim=1)
    largest = [torch.linalg.eigvalsh(W.T @ (torch.diag(q) - torch.outer(q, q)) @ W)[-1] for q in p]
    expected = eps**2 * torch.stack(largest).mean() / 2
    assert float(loss) == pytest.approx(float(expected), rel=1e-3)


def test_virtual_adversarial_loss_trains_the_module_not_its_target():
    # The output at x is a fixed target: the gradient is that of the moved
    # output only, which autograd on a detached target reproduces.
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    x = torch.randn(6, 5)
    loss = virtual_adversarial_loss(module, x, 0.5, torch.Generator().manual_seed(2))
    loss.backward()
    got = [p.grad.clone() for p in module.parameters()]
    module.zero_grad()
    d = torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    d = (0.5 / 32) * d / d.norm(dim=1, keepdim=True)
    d.requires_grad_()
    target = torch.log_softmax(module(x), dim=1).detach()
    kl = torch.nn.functional.kl_div(
        torch.log_softmax(module(x + d), 1), target, log_target=True, reduction="batchmean"
    )
    (g,) = torch.autograd.grad(kl, d)
    move = 0.5 * g / g.norm(dim=1, keepdim=True)
    torch.nn.functional.kl_div(
        torch.log_softmax(module(x + move), 1), target, log_target=True, reduction="batchmean"
    ).backward()
    for mine, theirs in zip(got, module.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs.grad)


def test_virtual_adversarial_loss_from_another_modules_target_is_their_kl_at_radius_zero():
    # With no move, the loss is KL(target_module(x) || module(x)): the
    # mean teacher's consistency term; with the module as its own target, 0.
    torch.manual_seed(0)
    module, teacher = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    x = torch.randn(8, 5)
    draws = torch.Generator().manual_seed(0)
    got = virtual_adversarial_loss(module, x, 0.0, draws, target_module=teacher)
    p, log_q = torch.softmax(teacher(x), 1), torch.log_softmax(module(x), 1)
    expected = (p * (torch.log(p) - log_q)).sum(1).mean()
    torch.testing.assert_close(got, expected)
    got.backward()
    itself = virtual_adversarial_loss(module, x, 0.0, draws, target_module=module)
    assert float(itself.detach()) == 0.0
    assert teacher.weight.grad is None  # the target gets no gradient


def _recorded_steps():
    """A callback keeping the trained weights after every training step."""
    from skorch.callbacks import Callback

    class Steps(Callback):
        def initialize(self):
            self.weights_ = []
            return self

        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                state = net.module_.state_dict()
                self.weights_.append({k: v.detach().clone() for k, v in state.items()})

    return Steps()


@pytest.mark.parametrize("vat_epsilon", [0.0, 0.3])
def test_ema_decay_fits_the_exponential_moving_average_of_the_trained_weights(semi, vat_epsilon):
    X, y_semi, _, _ = semi
    steps = _recorded_steps()
    clf = fast_classifier(
        ema_decay=0.9,
        vat_epsilon=vat_epsilon,
        max_iter=3,
        batch_size=16,
        tol=0.0,
        callbacks=[steps],
    )
    quiet_fit(clf, X, y_semi)
    recorded = dict(clf.net_.callbacks_)["Steps"].weights_
    assert len(recorded) >= 6
    # torch's AveragedModel: the first step's weights, then
    # average = 0.9 * average + 0.1 * weights after each step.
    average = dict(recorded[0])
    for weights in recorded[1:]:
        for name in average:
            if weights[name].is_floating_point():
                average[name] = 0.9 * average[name] + 0.1 * weights[name]
    fitted = clf.net_.module_.state_dict()
    assert not torch.allclose(fitted["head.weight"], recorded[-1]["head.weight"])
    for name, value in average.items():
        torch.testing.assert_close(fitted[name], value, rtol=1e-5, atol=1e-6)
    # The averaged weights and the training copy are not kept after fit.
    assert "average_module_" not in clf.net_.__dict__
    assert "_trained_state" not in clf.net_.__dict__


def test_with_ema_decay_the_virtual_adversarial_target_is_the_average(semi, monkeypatch):
    import skae._supervised as supervised

    X, y_semi, _, _ = semi
    targets = []

    def recording(module, x, radius, generator, divergence="kl", target_module=None):
        targets.append((target_module, {k: v.clone() for k, v in module.state_dict().items()}))
        return virtual_adversarial_loss(
            module, x, radius, generator, divergence=divergence, target_module=target_module
        )

    monkeypatch.setattr(supervised, "virtual_adversarial_loss", recording)
    clf = fast_classifier(vat_epsilon=0.3, ema_decay=0.5, max_iter=2, tol=0.0)
    quiet_fit(clf, X, y_semi)
    assert len(targets) >= 2
    teacher = targets[0][0]
    assert teacher is not None and all(t is teacher for t, _ in targets)
    # A separate module: at the first step the average is the starting
    # weights, then it lags behind the trained ones.
    trained = targets[-1][1]
    averaged = teacher.state_dict()
    assert not torch.equal(averaged["head.weight"], trained["head.weight"])
    assert teacher.training  # same mode as the module it teaches (dropout included)


def test_early_stopping_with_ema_decay_keeps_the_averages_best_epoch(semi):
    from skorch.callbacks import Callback

    class HeldOut(Callback):
        def initialize(self):
            self.losses_ = []
            return self

        def on_epoch_end(self, net, dataset_valid=None, **kwargs):
            self.rows_ = dataset_valid
            # At the end of an epoch the net holds the average, not the
            # trained weights, which it keeps aside.
            trained = net.__dict__["_trained_state"]["head.weight"]
            assert not torch.equal(net.module_.head.weight, trained)
            module = copy.deepcopy(net.module_).eval()
            with torch.no_grad():
                losses = net.criterion_(module(dataset_valid.X), dataset_valid.y)
            self.losses_.append(float(losses.mean()))

    X, y_semi, _, _ = semi
    clf = fast_classifier(
        ema_decay=0.8,
        batch_size=16,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=15,
        random_state=1,
        callbacks=[HeldOut()],
    )
    quiet_fit(clf, X, y_semi)
    net = clf.net_
    held_out = dict(net.callbacks_)["HeldOut"].rows_
    with torch.no_grad():
        loss = float(net.criterion_(net.module_.eval()(held_out.X), held_out.y).mean())
    # The validation loss of each epoch was the average's, and the fit ends
    # with the average of the best epoch (or the start, if none beat it).
    stopper = dict(net.callbacks_)["early_stopping"]
    scored = net.history[:, "valid_loss"]
    # (Early stopping, before the callback, ends the last epoch.)
    losses = dict(net.callbacks_)["HeldOut"].losses_
    assert len(losses) >= len(scored) - 1 >= 2
    np.testing.assert_allclose(scored[: len(losses)], losses, rtol=1e-4)
    best = min([stopper.start_score_, *scored])
    assert loss == pytest.approx(best, rel=1e-4)
    assert len(net.history) < 15 or best < stopper.start_score_


@pytest.fixture(scope="module")
def few_digit_labels(digits):
    """1,297 digits, 50 of them labelled; 500 test digits; an autoencoder pretrained on them."""
    X, y = digits
    rng = np.random.RandomState(0)
    y_semi = np.full(1297, -1)
    labelled = np.concatenate([rng.choice(np.flatnonzero(y[:1297] == c), 5) for c in range(10)])
    y_semi[labelled] = y[labelled]
    ae = Autoencoder(n_components=32, max_iter=30, random_state=0, device="cpu")
    ae = quiet_fit(ae, X[:1297], None)
    return X[:1297], y_semi, X[1297:], y[1297:], ae


def test_virtual_adversarial_training_lets_unlabelled_rows_shape_the_fine_tuning(
    few_digit_labels,
):
    X, y_semi, X_test, y_test, ae = few_digit_labels
    params = {"max_iter": 30, "random_state": 0, "device": "cpu"}
    plain = quiet_fit(AutoencoderClassifier(FrozenEstimator(ae), **params), X, y_semi)
    smooth = quiet_fit(
        AutoencoderClassifier(FrozenEstimator(ae), vat_epsilon=0.3, **params), X, y_semi
    )
    # Measured 0.776 against 0.894 (probes on the benchmark's split: see the
    # fine-tuning page of the documentation).
    assert smooth.score(X_test, y_test) > plain.score(X_test, y_test) + 0.05
    # An epoch is a pass over every row of X, the labelled ones cycled, and
    # the history records the virtual adversarial loss.
    labelled = int((y_semi != -1).sum())
    for epoch in smooth.net_.history:
        assert len(epoch["batches"]) == int(np.ceil(len(X) / labelled))
        assert all(b["train_batch_size"] == labelled for b in epoch["batches"])
        assert epoch["train_virtual_adversarial"] >= 0
    # The rows are not kept after fit (the longer history is all it adds).
    assert smooth.net_.smoothed_rows is None
    assert len(pickle.dumps(smooth)) < len(pickle.dumps(plain)) + X.nbytes // 4


def test_virtual_adversarial_training_is_reproducible_and_takes_sparse_rows(few_digit_labels):
    X, y_semi, X_test, _, ae = few_digit_labels
    make = lambda: AutoencoderClassifier(  # noqa: E731
        FrozenEstimator(ae), vat_epsilon=0.3, max_iter=3, random_state=0, device="cpu"
    )
    first = quiet_fit(make(), X, y_semi).predict_proba(X_test)
    np.testing.assert_array_equal(quiet_fit(make(), X, y_semi).predict_proba(X_test), first)
    sparse = quiet_fit(make(), sp.csr_matrix(X), y_semi).predict_proba(X_test)
    np.testing.assert_allclose(sparse, first, atol=1e-5)


def test_virtual_adversarial_training_makes_the_regressor_smoother():
    X, y = make_regression(300, 10, noise=5.0, random_state=0)
    X = X.astype(np.float32)
    y = (y / y.std()).astype(np.float32)
    params = {"pretrain": False, "max_iter": 100, "random_state": 0, "device": "cpu"}
    ae = Autoencoder(n_components=32, hidden_layer_sizes=(64,))

    def mean_gradient_norm(reg):
        module = reg.net_.module_.eval()
        x = torch.tensor(X).requires_grad_()
        module(x).sum().backward()
        return float(x.grad.norm(dim=1).mean())

    plain = quiet_fit(AutoencoderRegressor(ae, **params), X, y)
    smooth = quiet_fit(AutoencoderRegressor(ae, vat_epsilon=0.5, **params), X, y)
    assert mean_gradient_norm(smooth) < 0.8 * mean_gradient_norm(plain)


def test_virtual_adversarial_training_needs_an_encoder_that_learns(semi):
    X, y_semi, _, _ = semi
    clf = fast_classifier(vat_epsilon=0.3, freeze_encoder=True)
    with pytest.raises(ValueError, match="vat_epsilon=0.3 needs.*freeze_encoder=False"):
        quiet_fit(clf, X, y_semi)
    # Refused before the pretraining: nothing was fitted.
    assert not hasattr(clf, "net_") and not hasattr(clf, "autoencoder_")


def test_virtual_adversarial_loss_smooths_the_labelled_batch_and_as_many_other_rows(
    few_digit_labels, monkeypatch
):
    import skae._supervised as supervised

    X, y_semi, _, _, ae = few_digit_labels
    seen = []

    def recording(module, x, radius, generator, divergence="kl", target_module=None):
        seen.append((x.clone(), module.training, radius, divergence, target_module))
        return virtual_adversarial_loss(module, x, radius, generator, divergence=divergence)

    monkeypatch.setattr(supervised, "virtual_adversarial_loss", recording)
    clf = AutoencoderClassifier(
        FrozenEstimator(ae), vat_epsilon=0.3, dropout=0.5, max_iter=1, batch_size=20
    )
    quiet_fit(clf.set_params(random_state=0, device="cpu"), X, y_semi)
    labelled = X[y_semi != -1]
    spread = np.sqrt(X.astype(np.float64).var(axis=0).sum())
    assert len(seen) == int(np.ceil(len(X) / 20))
    for x, training, radius, divergence, target_module in seen:
        # First a labelled batch (20 rows, or the last of them), then
        # batch_size rows of X.
        n_labelled = len(x) - 20
        assert n_labelled in (20, len(labelled) % 20)
        assert all((row == labelled).all(axis=1).any() for row in x[:n_labelled].numpy())
        assert all((row == X).all(axis=1).any() for row in x[n_labelled:].numpy())
        # In training mode, dropout included (as in Miyato et al.'s code;
        # in evaluation mode it let the dropout network and the smoothed
        # one drift apart), at vat_epsilon times the spread.
        assert training
        assert radius == pytest.approx(0.3 * spread)
        assert divergence == "kl"
        assert target_module is None  # ema_decay=0: the module is its own target
    # An epoch draws every row of X (the last step starts a new pass).
    others = np.concatenate([x[-20:].numpy() for x, *_ in seen])
    assert len(others) >= len(X)
    assert len(np.unique(others, axis=0)) == len(np.unique(X, axis=0))
