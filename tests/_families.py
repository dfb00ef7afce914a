"""The public estimator classes of skae, for tests that run over every family."""

import inspect

import skae
from skae._base import BaseAutoencoder


def public_estimators():
    """Every public estimator class of skae, each once (aliases such as VAE fold)."""
    classes = {
        obj
        for name in skae.__all__
        if inspect.isclass(obj := getattr(skae, name)) and issubclass(obj, BaseAutoencoder)
    }
    return sorted(classes, key=lambda cls: cls.__name__)
