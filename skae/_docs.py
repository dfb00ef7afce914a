"""The documentation every estimator shares, and the template that puts it in place.

Each shared constructor parameter and fitted attribute is documented once,
here, as one numpydoc entry. A class docstring holds the placeholders
``{parameters}`` and ``{attributes}``; :func:`fill_doc` replaces them with the
entries, in signature order, after any entries of the family's own (a family
whose default differs, such as ``SparseAutoencoder``'s ``code_activation``,
passes its own entry). A missing placeholder, an entry for a parameter the
class does not have, or a parameter without an entry is an error at import
time, not a silently incomplete page. Measured figures belong in the user
guide and the benchmark results; an entry gives the default's reason in a
sentence and points there.
"""

import inspect

__all__ = [
    "PARAMETERS",
    "ATTRIBUTES",
    "fill_doc",
    "fill_docstring",
    "DOCS_URL",
    "DOC_LINK_TEMPLATE",
]

#: Root of the documentation site, where ``docs/build.sh`` puts the pages of
#: ``docs/_build/html``; the one place to change when the site moves. No site
#: is hosted yet: this is the address it is meant to have.
DOCS_URL = "https://skae.readthedocs.io/en/latest/"

#: Where the notebook (HTML) repr of a skae estimator links, scikit-learn's
#: ``_doc_link_template`` hook: Sphinx autosummary writes each public class's
#: API page to ``generated/skae.<Class>.html`` (``docs/api.rst``). scikit-learn
#: fills ``estimator_module`` with the class's module up to its first private
#: part (``skae``) and ``estimator_name`` with the class name; a class defined
#: outside skae, such as a family of your own, gets no link.
DOC_LINK_TEMPLATE = DOCS_URL + "generated/{estimator_module}.{estimator_name}.html"

PARAMETERS = {
    "n_components": """\
    n_components : int or float, default=2
        Width of the code, the number of features ``transform`` returns. It
        may exceed the number of input features (an overcomplete code). A
        float in (0, 1) is a share of variance, as for
        :class:`~sklearn.decomposition.PCA`: the code keeps the smallest
        prefix of an ordered code (:class:`~skae.OrderedCode`, which it
        then needs) that explains that share of the training rows'
        variance; the network is as wide as PCA needs for the share.""",
    "hidden_layer_sizes": """\
    hidden_layer_sizes : int or tuple of int, default=(512,)
        Widths of the encoder's hidden layers, outermost first; the decoder
        mirrors them. An int is one hidden layer, ``()`` a single-layer
        autoencoder. One wide layer reconstructed better than deeper
        defaults on the digits and Fashion-MNIST (see "Choosing the network"
        in the user guide).""",
    "activation": """\
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers, as in
        :class:`~sklearn.neural_network.MLPRegressor`.""",
    "code_activation": """\
    code_activation : {"identity", "relu", "tanh", "logistic"}, \
default="identity"
        Activation of the code layer. The default linear code keeps all
        directions of the code usable; ``"logistic"`` gives codes in (0, 1).
        With ``hidden_layer_sizes=()`` and both activations ``"identity"``
        the autoencoder is linear and learns the principal subspace.""",
    "architecture": """\
    architecture : object or None, default=None
        The network's shape when it is not an MLP: an object whose
        ``build(n_features, n_components, code_activation)`` returns a torch
        ``(encoder, decoder)`` pair, such as a
        :class:`~skae.ConvolutionalArchitecture` for image rows. Its own
        parameters are grid-searchable as ``architecture__<name>``. An
        architecture that holds an MLP beside its other layers can say so
        with ``held_mlp_parameters()`` (see ``init``). None builds the MLP
        described by ``hidden_layer_sizes`` and ``activation``.""",
    "regularizers": """\
    regularizers : list of (str, regularizer) tuples or None, default=None
        Corruptions of the input (:class:`~skae.NoiseCorruption`) and
        penalties in the loss (:class:`~skae.SparsityPenalty`,
        :class:`~skae.ContractionPenalty`, or your own
        :class:`~skae.Corruption` and :class:`~skae.Penalty` subclasses),
        each with a name, added to what the estimator's family brings: for
        example a sparse denoising autoencoder is
        ``DenoisingAutoencoder(regularizers=[("sparsity", SparsityPenalty())])``.
        Corruptions apply in order; a penalty's epoch mean is recorded in
        ``net_.history`` as ``train_<name>``. Their parameters are
        grid-searchable as ``<name>__<parameter>``, as for the steps of a
        :class:`~sklearn.pipeline.Pipeline`.""",
    "init": """\
    init : {"auto", "pca", "random"}, default="auto"
        How the network starts. ``"pca"`` adds a linear path, started at
        PCA's solution for the training rows, beside the encoder and the
        decoder, and puts each network behind a scalar gate that starts
        closed: the untrained autoencoder is PCA with ``n_components``
        components, and training adds a non-linear correction. With early
        stopping, a correction that does not beat PCA on the held-out rows
        by more than two standard errors of the per-row difference is
        dropped. ``"random"`` starts every weight from PyTorch's default
        initialisation. ``"auto"`` is ``"pca"`` where it applies
        (squared-error loss, linear code, no greedy pretraining, and no tied
        weights with hidden layers) and ``"random"`` elsewhere; with early
        stopping, a deep network is trained once more from a random start
        where its PCA start gained nothing, and a deep network on fewer
        than 10,000 rows (where fits are cheap and the start decides the
        solution) whatever it gained; the random-start network is kept if
        it beats PCA, and any network kept from the PCA start, in the same
        way. Where the held-out split of a deep network has fewer than 50
        rows (100 to 499 rows with the default ``validation_fraction``),
        that decision is taken on every held-out fold of the rows, and the
        network that wins is trained again on every row: one split's 10 or
        30 held-out rows missed wins and chose the worse of two starts, and
        its network had seen fewer rows than the PCA it replaced. Such a
        fit trains about 20 networks (seconds each for an MLP on small
        data; for a convolutional one on 100 to 300 images of 28 x 28, 1.5
        to 8 minutes of CPU in all). On up to 10,000 rows, a network kept
        on one split is also trained again on every row, for the best
        epoch count of that split (a second training: the held-out tenth
        cost up to 4 % of test error on 1,000 and 10,000 images). An
        ``architecture`` that holds an MLP beside its other layers (a
        :class:`ConvolutionalArchitecture` with its pixel path) is, on fewer
        than 10,000 rows, matched against that MLP trained alone in the same
        way, and the fit keeps the MLP unless the architecture's network
        beats it on the held-out rows beyond noise: on small image sets the
        convolutions lost to their own MLP in some cells. It keeps
        the network from reconstructing held-out rows worse than PCA on
        small data, where a randomly started one overfits, without
        giving up the data on which only a random start gets ahead of PCA
        (see "Never worse than PCA" in the user guide).""",
    "pretraining": """\
    pretraining : {"greedy"} or None, default=None
        ``"greedy"`` first trains each layer of a deep MLP as a shallow
        autoencoder on the codes of the layer below, with the estimator's
        corruptions and penalties (Hinton & Salakhutdinov, 2006; Vincent et
        al., 2010), then fine-tunes the whole stack.""",
    "pretraining_max_iter": """\
    pretraining_max_iter : int, default=20
        Epochs of each layer's pretraining.""",
    "loss": """\
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss: mean squared error, or binary cross-entropy
        for data in [0, 1] (the reconstruction then passes through a
        sigmoid).""",
    "tied_weights": """\
    tied_weights : bool, default=False
        If True, each decoder layer uses the transposed weights of the
        mirrored encoder layer (only its bias is its own).""",
    "max_iter": """\
    max_iter : int, default=200
        Maximum number of epochs (passes over the data).""",
    "batch_size": """\
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` means ``min(200, n_samples)``. A
        size larger than the data gives full-batch training.""",
    "learning_rate": """\
    learning_rate : {"adaptive", "constant", "cosine"}, default="adaptive"
        Schedule of the learning rate over the epochs of a ``fit``:
        ``"adaptive"`` keeps ``learning_rate_init`` while the held-out loss
        improves; each time it has not improved by ``tol`` for
        ``n_iter_no_change // 2`` epochs (at least 1) the rate is divided
        by 5, twice at most (as scikit-learn's MLP divides it with
        ``learning_rate="adaptive"``), and the fit stops after three such
        spans without an improvement (15 epochs by default). It is the
        default because early-stopped fits then go on to a lower loss where
        a constant rate stopped (1,000 Fashion-MNIST rows, 30 components:
        0.905 against 0.927 times PCA's test error; see "Training
        parameters" in the user guide). It adapts only with early stopping
        on at least 50 held-out rows (500 rows at the default
        ``validation_fraction``): the loss of fewer is too noisy to show a
        plateau, and without held-out rows the rate stays constant.
        ``"constant"`` keeps ``learning_rate_init``; ``"cosine"`` decays it
        from ``learning_rate_init`` to zero along half a cosine
        over ``max_iter`` epochs (Loshchilov & Hutter, 2017), which reaches
        a lower loss in the same number of epochs when ``max_iter`` is the
        whole budget, as in the Hinton & Salakhutdinov reproduction. A
        network trained again on every row after early stopping replays
        the rates of its held-out split's epochs. ``partial_fit`` always
        trains at ``learning_rate_init``.""",
    "learning_rate_init": """\
    learning_rate_init : float, default=1e-3
        Learning rate of the Adam optimizer.""",
    "alpha": """\
    alpha : float, default=0.0
        Strength of the L2 penalty on the weights (Adam's weight decay, as in
        scikit-learn's MLP; biases are not penalised). Off by default: on the
        digits, 1e-4 already raised the test reconstruction error; where a
        large network overfits, it pays (1e-5 took the deep MNIST autoencoder
        from 3.14 to 2.75 per test image; see "Training parameters" in the
        user guide).""",
    "early_stopping": """\
    early_stopping : bool or "auto", default="auto"
        If True, hold out ``validation_fraction`` of the rows, stop when
        their loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and restore the weights of the best epoch (the untrained
        network counts as epoch 0). If False, train on every row and stop
        when the training loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs. ``"auto"`` is True for 20 rows or
        more: with ``init="pca"`` it is what keeps small data from
        overfitting (see "Never worse than PCA" in the user guide). From
        PCA's start, the held-out rows decide between the network and PCA,
        and on up to 10,000 rows a network they keep is then trained again
        on every row for its best epoch count (see ``init``).""",
    "validation_fraction": """\
    validation_fraction : float, default=0.1
        Share of the rows held out when early stopping is on.""",
    "n_iter_no_change": """\
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping
        at a constant or cosine learning rate; where
        ``learning_rate="adaptive"`` adapts, half of it is the span after
        which the rate is divided, and the fit stops after three spans.
        With fewer rows than ``batch_size`` an epoch is a single optimizer
        step: longer patience lets such fits train longer, but on the
        held-out rows of very small data it also lets noise pick a worse
        epoch (see "Never worse than PCA" in the user guide).""",
    "tol": """\
    tol : float, default=1e-4
        Smallest improvement of the monitored loss that counts, in units of
        the training rows' mean variance per feature (the squared error of
        reconstructing every row by the mean): rescaling ``X`` does not
        change when a fit stops, and on standardised rows it is an absolute
        improvement of ``tol``. On pixels in [0, 1] an absolute 1e-4 was
        several per cent of a 30-component code's error, and fits started at
        PCA stopped before their non-linear part opened (see "Never worse
        than PCA" in the user guide).""",
    "warm_start": """\
    warm_start : bool, default=False
        If True, ``fit`` continues from the weights of the previous fit
        (with a fresh optimizer) instead of starting anew.""",
    "random_state": """\
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling, the validation split
        and any corruption, through private ``torch.Generator`` objects (the
        global torch seed is never touched). An int gives bit-identical fits
        on the same data and device.""",
    "device": """\
    device : str or torch.device, default="auto"
        Where to train and infer: ``"auto"`` picks ``"cuda"`` when it is
        available and ``"cpu"`` otherwise; any torch device string works.
        ``fit`` raises a ``ValueError`` for a device this machine lacks
        (``"cuda"`` without a GPU).""",
    "verbose": """\
    verbose : int, default=0
        If positive, skorch prints one line of progress per epoch.""",
    "callbacks": """\
    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` run during training (copied at each
        fit, so the ones passed here are never modified).""",
}

ATTRIBUTES = {
    "n_components_": """\
    n_components_ : int
        Width of the code ``transform`` returns: ``n_components``, or for a
        share of variance the prefix kept.""",
    "total_explained_variance_ratio_": """\
    total_explained_variance_ratio_ : float
        Share of the variance of (up to 2,000) training rows that the code
        explains: the reconstruction's R^2, ``1 - SSE / SST``, comparable
        with ``PCA(n).explained_variance_ratio_.sum()``.""",
    "explained_variance_ratio_": """\
    explained_variance_ratio_ : ndarray of shape (`n_components_`,)
        Only with an ordered code (:class:`~skae.OrderedCode`): the share of
        the training variance that each further code unit adds to the
        reconstruction, as PCA's; it sums to
        ``total_explained_variance_ratio_``.""",
    "components_": """\
    components_ : ndarray of shape (`n_components_`, `n_features_in_`)
        Only for a linear autoencoder (no hidden layers, a linear code and
        squared error): the decoder's direction for each code unit, as PCA's
        ``components_`` (orthonormal only under
        :class:`~skae.WeightConstraint`).""",
    "n_features_in_": """\
    n_features_in_ : int
        Number of features seen during ``fit``.""",
    "feature_names_in_": """\
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, if they are all strings.""",
    "n_iter_": """\
    n_iter_ : int
        Number of epochs run, over all fits when warm-starting.""",
    "loss_curve_": """\
    loss_curve_ : list of float
        Training loss at the end of each epoch.""",
    "validation_scores_": """\
    validation_scores_ : list of float
        Negative validation loss after each epoch (higher is better); only
        with early stopping.""",
    "best_validation_score_": """\
    best_validation_score_ : float
        Best of ``validation_scores_``, or the untrained network's score
        when no epoch improved on it; only with early stopping.""",
    "validation_mse_": """\
    validation_mse_ : float
        Mean squared reconstruction error per value of the fitted network
        on the held-out rows (PCA's, ``pca_validation_mse_``, when the fit
        ends as PCA); where every held-out fold decided (see ``init``), the
        mean over the folds of each fold's network on its held-out rows;
        only with early stopping.""",
    "pca_validation_mse_": """\
    pca_validation_mse_ : float
        The same for :class:`~sklearn.decomposition.PCA` with
        ``n_components`` components fitted on the training rows: the
        baseline the network is compared with. ``fit`` warns when the
        network is more than 2% worse; only with early stopping.""",
    "net_": """\
    net_ : skae._net.AutoencoderNet
        The skorch net that trained the torch module ``net_.module_``; its
        ``history`` holds every per-epoch and per-batch record.""",
}


def fill_doc(**parameters):
    """Class decorator: put the parameter and attribute entries into the docstring.

    Parameters
    ----------
    **parameters : str
        The class's own parameter entries, by parameter name; the others come
        from :data:`PARAMETERS`. Entries follow the ``__init__`` signature
        order; ``{attributes}`` stands for every entry of :data:`ATTRIBUTES`.

    Returns
    -------
    decorator : callable
        Fills ``{parameters}`` and ``{attributes}`` in the class docstring.

    Raises
    ------
    TypeError
        If the docstring lacks a placeholder, a parameter of ``__init__``
        has no entry, or an entry names no parameter of ``__init__``.
    """
    return fill_docstring(PARAMETERS, "\n\n".join(ATTRIBUTES.values()), parameters)


def fill_docstring(shared, attributes, own):
    """:func:`fill_doc` with other shared entries: for estimators that are not autoencoders.

    Parameters
    ----------
    shared : dict of str
        Parameter entries by name, used where ``own`` has none.
    attributes : str
        What ``{attributes}`` stands for.
    own : dict of str
        The class's own parameter entries, by name.

    Returns
    -------
    decorator : callable
        Fills ``{parameters}`` and ``{attributes}`` in the class docstring.

    Raises
    ------
    TypeError
        As :func:`fill_doc`.
    """

    def decorate(cls):
        doc = cls.__doc__ or ""
        names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        extra = set(own) - set(names)
        if extra:
            raise TypeError(f"{cls.__name__}: documentation for unknown parameters {extra}.")
        for placeholder in ("{parameters}", "{attributes}"):
            if f"    {placeholder}" not in doc:
                raise TypeError(f"{cls.__name__}'s docstring lacks the placeholder {placeholder}.")
        missing = [name for name in names if name not in own and name not in shared]
        if missing:
            raise TypeError(f"{cls.__name__}: no documentation for parameters {missing}.")
        entries = "\n\n".join(own.get(name, shared.get(name)) for name in names)
        doc = doc.replace("    {parameters}", entries)
        cls.__doc__ = doc.replace("    {attributes}", attributes)
        return cls

    return decorate
