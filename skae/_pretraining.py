"""Greedy layer-wise pretraining of deep MLP autoencoders.

Hinton & Salakhutdinov (2006) and Vincent et al. (2010) train a deep stack
one layer at a time: each layer, with its mirrored decoder layer, is a
shallow autoencoder trained on the codes of the layer below. The trained
weights then initialise the deep network, which is fine-tuned end to end.
Here each shallow autoencoder is a plain :class:`~skae.Autoencoder` with the
estimator's shared parameters and its corruptions and penalties (the
family's and the user's), so a stacked denoising (or sparse, or
contractive, or any mix) autoencoder pretrains each layer with them.
"""

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from .nn import MLPDecoder, MLPEncoder, TiedMLPDecoder

__all__ = ["greedy_pretrain"]


def _decoder_linears(decoder):
    return [layer for layer in decoder if isinstance(layer, torch.nn.Linear)]


def _layer_shapes(module):
    """``(in, out)`` of each encoder layer and each mirrored decoder layer, or None."""
    encoder, decoder = getattr(module, "encoder", None), getattr(module, "decoder", None)
    if not isinstance(encoder, MLPEncoder):
        return None
    encoder_shapes = [(layer.in_features, layer.out_features) for layer in encoder.linears]
    if isinstance(decoder, TiedMLPDecoder):
        return encoder_shapes, encoder_shapes[::-1]
    if isinstance(decoder, MLPDecoder):
        linears = _decoder_linears(decoder)
        return encoder_shapes, [(layer.out_features, layer.in_features) for layer in linears]
    return None


def _check_applicable(estimator, module, widths):
    if estimator.architecture is not None:
        raise ValueError(
            f"pretraining='greedy' trains the layers of an MLP one at a time and does not "
            f"apply to architecture={estimator.architecture!r}; set pretraining=None."
        )
    if len(widths) < 3:
        raise ValueError(
            "pretraining='greedy' needs a deep network, but hidden_layer_sizes=() gives a "
            "single layer, which the fit trains directly; add hidden layers or set "
            "pretraining=None."
        )
    expected = list(zip(widths[:-1], widths[1:], strict=True))
    if _layer_shapes(module) != (expected, expected[::-1]):
        raise ValueError(
            f"pretraining='greedy' is not available for {type(estimator).__name__}: its "
            f"network is not an MLP of widths {widths} with a mirrored decoder, so the "
            "layers of shallow autoencoders do not fit in it. Set pretraining=None."
        )


@torch.no_grad()
def _copy_layer(module, shallow_module, index, n_layers):
    """Copy a trained shallow autoencoder into layer ``index`` of ``module``."""
    mirror = n_layers - 1 - index
    source = shallow_module.encoder.linears[0]
    target = module.encoder.linears[index]
    target.weight.copy_(source.weight)
    target.bias.copy_(source.bias)
    if isinstance(module.decoder, TiedMLPDecoder):
        module.decoder.biases[mirror].copy_(shallow_module.decoder.biases[0])
    else:
        source = _decoder_linears(shallow_module.decoder)[0]
        target = _decoder_linears(module.decoder)[mirror]
        target.weight.copy_(source.weight)
        target.bias.copy_(source.bias)


def greedy_pretrain(estimator, module, X, *, seed, device):
    """Initialise a deep MLP autoencoder layer by layer, in place.

    Layer ``i`` of the encoder (widths ``w_i -> w_(i+1)``) and its mirror
    in the decoder are trained as a shallow autoencoder: an
    :class:`~skae.Autoencoder` with the estimator's shared parameters,
    ``hidden_layer_sizes=()``, ``n_components=w_(i+1)``, ``init="random"``
    and ``max_iter=pretraining_max_iter``, fitted on the codes of layer
    ``i - 1`` (on ``X`` for the first layer) without early stopping. Its
    code activation is the estimator's ``activation``, or
    ``code_activation`` for the code layer. The first layer uses the
    estimator's ``loss``; the deeper ones reconstruct codes, which are not
    confined to [0, 1], with squared error. The corruptions and penalties
    (the family's and ``regularizers``) apply to every layer, as in stacked
    denoising autoencoders, where each allows it (its ``for_layer``): the KL
    sparsity penalty, which needs codes in (0, 1), is left out of hidden
    layers whose activation is not logistic. A shallow decoder layer has a
    linear output, while in the deep decoder the same weights feed the
    hidden activation: pretraining gives a starting point, and fine-tuning
    adjusts it.

    Parameters
    ----------
    estimator : BaseAutoencoder
        The estimator being fitted, with ``pretraining="greedy"``.
    module : torch.nn.Module
        Its freshly built and initialised deep module (on the CPU), whose
        ``encoder`` is an :class:`~skae.nn.MLPEncoder` and ``decoder`` an
        :class:`~skae.nn.MLPDecoder` or :class:`~skae.nn.TiedMLPDecoder`.
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        The validated training rows.
    seed : int
        Seeds the shallow fits, so pretraining is reproducible.
    device : torch.device
        Where the shallow autoencoders train.

    Returns
    -------
    layers : list of BaseAutoencoder
        The fitted shallow autoencoders, outermost first.

    Raises
    ------
    ValueError
        If the estimator's network is not a deep MLP (an ``architecture``
        object, no hidden layers, or a family with another kind of module),
        or if a layer cannot be trained as its family requires.
    """
    from ._autoencoder import Autoencoder

    widths = [X.shape[1], *estimator._hidden_layer_sizes(), estimator.n_components]
    _check_applicable(estimator, module, widths)
    n_layers = len(widths) - 1
    rng = np.random.RandomState(seed)
    shared = {
        name: value
        for name, value in estimator.get_params(deep=False).items()
        if name in Autoencoder._get_param_names()
    }
    regularizers = [*estimator._family_regularizers(), *(estimator.regularizers or [])]
    layers = []
    data = X
    for index in range(n_layers):
        last = index == n_layers - 1
        code_activation = estimator.code_activation if last else estimator.activation
        layer_regularizers = [
            (name, layer_regularizer)
            for name, regularizer in regularizers
            if (layer_regularizer := regularizer.for_layer(code_activation)) is not None
        ]
        shallow = Autoencoder(**shared).set_params(
            hidden_layer_sizes=(),
            n_components=widths[index + 1],
            code_activation=code_activation,
            regularizers=layer_regularizers,
            init="random",
            loss=estimator.loss if index == 0 else "mse",
            pretraining=None,
            max_iter=estimator.pretraining_max_iter,
            learning_rate="constant",
            early_stopping=False,
            warm_start=False,
            callbacks=None,
            random_state=int(rng.randint(np.iinfo(np.int32).max)),
            device=device,
        )
        try:
            with warnings.catch_warnings():
                # A few epochs per layer are the point, not a failure to converge.
                warnings.simplefilter("ignore", ConvergenceWarning)
                # A shallow layer's code is a hidden layer of the stack, where
                # idle ReLU units are no concern; the stack's own fit checks
                # the real code afterwards.
                warnings.filterwarnings("ignore", message=".*code units", category=UserWarning)
                shallow.fit(data)
        except ValueError as exc:
            raise ValueError(
                f"pretraining='greedy' could not train layer {index + 1} of {n_layers} "
                f"({widths[index]} -> {widths[index + 1]} units) as a shallow "
                f"autoencoder: {exc}"
            ) from exc
        _copy_layer(module, shallow.net_.module_, index, n_layers)
        layers.append(shallow)
        if not last:
            data = shallow.transform(data)
    return layers
