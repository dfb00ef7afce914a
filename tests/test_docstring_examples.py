"""The examples in the docstrings of the public classes' own methods run as written.

``skae/__init__.py`` gives the public classes the module path ``skae`` (so
pickle, skops and mlflow name ``skae.Autoencoder``). pytest's
``--doctest-modules`` then still collects each class docstring, from
``skae/__init__.py``, but no longer the docstrings of the methods a class
defines: doctest only takes a function from the module whose globals it
has. This runs those.
"""

import doctest
import inspect

import pytest

import skae

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _method_examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    seen = set()
    for name in skae.__all__:
        cls = getattr(skae, name)
        if not inspect.isclass(cls) or cls in seen:  # VAE is VariationalAutoencoder
            continue
        seen.add(cls)
        name = cls.__name__
        module = inspect.getmodule(cls.__init__) or inspect.getmodule(cls)
        for test in finder.find(cls, name, module=False, globs=vars(module).copy()):
            if test.name != name and test.examples:  # the class docstring runs already
                yield pytest.param(test, id=test.name)


EXAMPLES = list(_method_examples())


def test_every_public_method_example_is_found():
    # Autoencoder.fit and friends live on the base class and run from
    # skae/_base.py; the public classes' own methods with examples run here.
    assert EXAMPLES, "no method docstring examples found on the public classes"


@pytest.mark.parametrize("test", EXAMPLES)
def test_method_docstring_example(test):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{test.name}: {result.failed} of {result.attempted} examples failed"
