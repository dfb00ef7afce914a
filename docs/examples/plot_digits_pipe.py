"""
=================================================================
Pipelining: chaining an autoencoder and a logistic regression
=================================================================

scikit-learn's own example ``compose/plot_digits_pipe.py``, with the
:class:`~sklearn.decomposition.PCA` step replaced by a skae
:class:`~skae.Autoencoder`: the same pipeline, the same grid over
``pca__n_components`` and ``logistic__C``, and the same spectrum plot from
``n_components_`` and ``explained_variance_ratio_``. One thing is added:
the pipeline caches its fitted steps (``memory``, as in scikit-learn's
``compose/plot_compare_reduction.py``), so that each code size is trained
once a fold rather than once for every ``C`` as well. A PCA fits in
milliseconds; a network takes seconds.

The autoencoder orders its code (:class:`~skae.OrderedCode`, nested dropout),
which is what gives it PCA's ``explained_variance_ratio_``: the share of the
training variance each further code unit adds. Started at PCA's solution
(``init="auto"``), it keeps a non-linear correction only where that
reconstructs held-out rows better; with all 64 components of the 64 pixels
PCA is already exact, so its spectrum here is PCA's.
"""

import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from joblib import Memory
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skae import Autoencoder, OrderedCode

# Define a pipeline to search for the best combination of the code's size
# and classifier regularization.
pca = Autoencoder(
    n_components=64, regularizers=[("order", OrderedCode())], max_iter=30, random_state=0
)
# Define a Standard Scaler to normalize inputs
scaler = StandardScaler()

# set the tolerance to a large value to make the example faster
logistic = LogisticRegression(max_iter=10000, tol=0.1)
# Cache the fitted scaler and autoencoder of each fold and code size: the
# grid's four values of C reuse them.
cache = tempfile.mkdtemp()
pipe = Pipeline(
    steps=[("scaler", scaler), ("pca", pca), ("logistic", logistic)],
    memory=Memory(cache, verbose=0),
)

X_digits, y_digits = datasets.load_digits(return_X_y=True)
# Parameters of pipelines can be set using '__' separated parameter names:
param_grid = {
    "pca__n_components": [5, 15, 30, 45, 60],
    "logistic__C": np.logspace(-4, 4, 4),
}
search = GridSearchCV(pipe, param_grid, n_jobs=2)
search.fit(X_digits, y_digits)
print(f"Best parameter (CV score={search.best_score_:0.3f}):")
print(search.best_params_)
shutil.rmtree(cache)

# Plot the autoencoder's spectrum
pca.fit(X_digits)

fig, (ax0, ax1) = plt.subplots(nrows=2, sharex=True, figsize=(6, 6))
ax0.plot(np.arange(1, pca.n_components_ + 1), pca.explained_variance_ratio_, "+", linewidth=2)
ax0.set_ylabel("explained variance ratio")

ax0.axvline(
    search.best_estimator_.named_steps["pca"].n_components,
    linestyle=":",
    label="n_components chosen",
)
ax0.legend(prop=dict(size=12))

# For each number of components, find the best classifier results
results = pd.DataFrame(search.cv_results_)
components_col = "param_pca__n_components"
best_clfs = results.loc[results.groupby(components_col)["mean_test_score"].idxmax()]
best_clfs = best_clfs.sort_values(components_col)

ax1.errorbar(
    best_clfs[components_col],
    best_clfs["mean_test_score"],
    yerr=best_clfs["std_test_score"],
)
ax1.set_ylabel("Classification accuracy (val)")
ax1.set_xlabel("n_components")

plt.xlim(-1, 70)

plt.tight_layout()
plt.show()
