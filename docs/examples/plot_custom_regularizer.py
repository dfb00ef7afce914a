"""
Write your own regularizer
==========================

A regularizer is a small object with ``get_params`` that builds a loss term
at each fit. This one penalises the squared differences between neighbouring
pixels of each reconstruction, so the decoder prefers smooth images. It is
the whole of the code: the estimator records its epoch mean in the history,
searches its parameters as ``smooth__weight``, clones and saves it, and greedy
pretraining hands it to each layer (see :ref:`extending`).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skae import Autoencoder, Penalty


class SmoothnessPenalty(Penalty):
    """Squared differences between neighbouring pixels of each reconstruction."""

    def __init__(self, image_shape=(8, 8), weight=1e-2):
        self.image_shape = image_shape
        self.weight = weight

    def build(self, estimator, module):
        height, width = self.image_shape

        def term(output, X, module):
            images = output["reconstruction"].reshape(-1, height, width)
            across = (images[:, :, 1:] - images[:, :, :-1]).pow(2).sum(dim=(1, 2))
            down = (images[:, 1:, :] - images[:, :-1, :]).pow(2).sum(dim=(1, 2))
            return (across + down) / (height * width)

        return module, term

    def for_layer(self, code_activation):
        return None  # only the whole stack reconstructs images


# %%
# Fit the same autoencoder with and without the penalty.
X = load_digits().data / 16
X_train, X_test = X[:1400], X[1400:]
models = {}
for weight in (0.0, 0.05):
    smooth = SmoothnessPenalty(weight=weight)
    ae = Autoencoder(n_components=10, regularizers=[("smooth", smooth)], random_state=0)
    models[weight] = ae.fit(X_train)


def roughness(images):
    images = images.reshape(-1, 8, 8)
    return float(np.mean(np.diff(images, axis=1) ** 2) + np.mean(np.diff(images, axis=2) ** 2))


for weight, ae in models.items():
    reconstruction = ae.inverse_transform(ae.transform(X_test))
    error = np.mean((reconstruction - X_test) ** 2)
    history = ae.net_.history[-1]
    print(
        f"weight {weight}: test MSE {error:.4f}, roughness {roughness(reconstruction):.4f} "
        f"(test digits {roughness(X_test):.4f}); last epoch's penalty "
        f"{history.get('train_smooth', 0.0):.4f}"
    )

# %%
# Reconstructions of the first test digits: original, without, with the penalty.
fig, axes = plt.subplots(3, 8, figsize=(8, 3.3))
rows = [X_test[:8]] + [ae.inverse_transform(ae.transform(X_test[:8])) for ae in models.values()]
for row_axes, images, label in zip(
    axes, rows, ["test digits", "no penalty", "smooth 0.05"], strict=True
):
    for ax, image in zip(row_axes, images, strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
    row_axes[0].set_ylabel(label, fontsize=8)
fig.tight_layout()
plt.show()
