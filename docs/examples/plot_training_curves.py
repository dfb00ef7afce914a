"""
==============================
Training and validation curves
==============================

Every fitted estimator keeps its training loss per epoch in ``loss_curve_``.
With ``early_stopping=True`` it also holds out ``validation_fraction`` of the
rows, records the validation score after each epoch in
``validation_scores_`` (minus the validation loss, so that higher is better,
as in scikit-learn's MLP), stops when the validation loss has not improved
by ``tol`` for ``n_iter_no_change`` epochs, and restores the weights of the
best epoch.

Plotting both curves shows whether a model is still learning, has
converged, or has started to memorise its training rows.
"""

# %%
# Two fits: all the digits, and a few of them
# -------------------------------------------
#
# The same autoencoder with a 32-unit code, once on all 1797 digits and once
# on 300 of them, small mini-batches and no weight decay: a setting made to
# overfit. Both hold out 30 % of their rows for validation.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skae import Autoencoder

X, y = load_digits(return_X_y=True)
X = X / 16

params = {
    "n_components": 32,
    "early_stopping": True,
    "validation_fraction": 0.3,
    "max_iter": 400,
    "random_state": 0,
}
fits = {
    "1797 digits, default training": Autoencoder(**params).fit(X),
    "300 digits, batch_size=32, alpha=0, tol=0, n_iter_no_change=40": Autoencoder(
        batch_size=32, alpha=0.0, tol=0.0, n_iter_no_change=40, **params
    ).fit(X[:300]),
}

# %%
# Plot the curves
# ---------------

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
for ax, (title, ae) in zip(axes, fits.items(), strict=True):
    epochs = np.arange(1, ae.n_iter_ + 1)
    validation_loss = -np.asarray(ae.validation_scores_)
    best = int(np.argmax(ae.validation_scores_)) + 1
    ax.plot(epochs, ae.loss_curve_, label="training loss (loss_curve_)")
    ax.plot(epochs, validation_loss, label="validation loss (-validation_scores_)")
    ax.axvline(best, color="grey", linestyle=":", label=f"best epoch ({best}), restored")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    print(
        f"{title}: {ae.n_iter_} epochs, best validation loss {-ae.best_validation_score_:.4f} "
        f"at epoch {best}, training loss then {ae.loss_curve_[best - 1]:.4f}"
    )
axes[0].set_ylabel("mean squared error per value")
fig.tight_layout()
plt.show()

# %%
# On all the digits the two curves fall together, a small gap apart: the
# model generalises, and training stops once the validation loss has
# improved by less than ``tol`` (an absolute amount, in units of the loss)
# for ``n_iter_no_change`` epochs. On 210 training rows the training loss
# keeps falling while the validation loss levels off: beyond the marked
# epoch the network only memorises its training rows. Early stopping ends
# the fit ``n_iter_no_change`` epochs after the best validation score and
# keeps that epoch's weights.
#
# Without ``early_stopping`` no rows are held out and ``fit`` stops on the
# training loss instead; ``loss_curve_`` is there either way, and
# ``net_.history`` holds everything skorch recorded, per epoch and per batch.
