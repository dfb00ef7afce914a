"""
==============================================
Sampling digits from a variational autoencoder
==============================================

A :class:`~skae.VariationalAutoencoder` (:data:`~skae.VAE`) is a generative
model: every point of its latent space decodes to a digit, and points drawn
from the standard normal prior decode to new digits. With two latent
dimensions the whole latent space can be laid out as a lattice and decoded
into one picture, which shows how the model arranges the digits and how it
morphs one into another.
"""

# %%
# Fit a VAE with a two-dimensional latent
# ---------------------------------------
#
# Pixel intensities in [0, 1] suit the Bernoulli likelihood,
# ``loss="bce"``.

import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm
from scipy.stats import norm
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skae import VAE

X, y = load_digits(return_X_y=True)
X = X / 16

vae = VAE(n_components=2, loss="bce", max_iter=100, random_state=0)
with warnings.catch_warnings():
    # 100 epochs is a time budget, not convergence.
    warnings.simplefilter("ignore", ConvergenceWarning)
    vae.fit(X)
print(
    f"negative ELBO per digit after {vae.n_iter_} epochs: {vae.loss_curve_[-1]:.1f} nats "
    f"(reconstruction {vae.reconstruction_curve_[-1]:.1f}, KL {vae.kl_curve_[-1]:.1f})"
)

# %%
# Decode a lattice of latent points
# ---------------------------------
#
# The lattice covers the prior evenly: its coordinates are the 5 %, ..., 95 %
# quantiles of the standard normal, so each cell holds the same prior mass.
# ``inverse_transform`` decodes latent points to the mean of ``p(x | z)``,
# here pixel probabilities.

n = 15
quantiles = norm.ppf(np.linspace(0.05, 0.95, n))
z1, z2 = np.meshgrid(quantiles, quantiles[::-1])
lattice = np.column_stack([z1.ravel(), z2.ravel()])
images = vae.inverse_transform(lattice).reshape(n, n, 8, 8)
# One blank pixel around each 8 x 8 digit keeps neighbouring cells apart.
images = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
canvas = images.transpose(0, 2, 1, 3).reshape(n * 10, n * 10)

codes = vae.transform(X)  # posterior means

fig, (ax_map, ax_lattice) = plt.subplots(1, 2, figsize=(11, 5.4))
scatter = ax_map.scatter(
    norm.cdf(codes[:, 0]),
    norm.cdf(codes[:, 1]),
    c=y,
    cmap="tab10",
    norm=BoundaryNorm(np.arange(-0.5, 10), 10),
    s=6,
)
ax_map.set_xlim(0.02, 0.98)
ax_map.set_ylim(0.02, 0.98)
ax_map.set_title("Posterior means of the digits\n(axes: prior quantiles of z1, z2)")
ax_map.set_aspect("equal")
fig.colorbar(scatter, ax=ax_map, ticks=range(10), label="digit")
ax_lattice.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, extent=(0.02, 0.98, 0.02, 0.98))
ax_lattice.set_xlim(0.02, 0.98)
ax_lattice.set_ylim(0.02, 0.98)
ax_lattice.set_title(f"Decoded {n} x {n} lattice over the same square")
fig.tight_layout()
plt.show()

# %%
# Each region of the lattice decodes to the digits the left panel places
# there, and neighbouring cells blend smoothly from one digit into the next:
# the decoder has no gaps, which is what the KL term of the VAE buys.
#
# Draw new digits from the prior
# ------------------------------
#
# :meth:`~skae.VariationalAutoencoder.sample` draws ``z`` from the standard
# normal and decodes it.

samples = vae.sample(40, random_state=0)
fig, axes = plt.subplots(4, 10, figsize=(8, 3.4))
for ax, image in zip(axes.ravel(), samples, strict=True):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
fig.suptitle("40 random samples from VAE(n_components=2)")
fig.tight_layout()
plt.show()

# %%
# Two latent dimensions are few for ten digit classes, so some samples fall
# between classes and look like blends. A larger ``n_components`` gives
# sharper, more varied samples, at the price of a latent space that can no
# longer be drawn on a page.
