"""The documentation says what the code does: defaults, parameters and the user guide."""

import ast
import inspect
import re
from pathlib import Path

import pytest
from _registry import ESTIMATOR_CLASSES, public_classes
from numpydoc.docscrape import ClassDoc

from skae import Autoencoder, ConvolutionalArchitecture, Corruption, Penalty
from skae._docs import fill_doc

# The only shared parameters whose default a family changes, and why.
OWN_DEFAULTS = {
    # The KL penalty needs codes in (0, 1).
    ("SparseAutoencoder", "code_activation"): "logistic",
}
DOCUMENTED = [
    *ESTIMATOR_CLASSES,
    *public_classes(Corruption),
    *public_classes(Penalty),
    ConvolutionalArchitecture,
]
USER_GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user_guide.rst"


def defaults(cls):
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self"
    }


@pytest.mark.parametrize("cls", ESTIMATOR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_family_shares_the_plain_autoencoders_parameters_and_defaults(cls):
    shared = defaults(Autoencoder)
    own = defaults(cls)
    # The shared parameters come first, in the same order.
    assert list(own)[: len(shared)] == list(shared)
    for name, default in shared.items():
        expected = OWN_DEFAULTS.get((cls.__name__, name), default)
        assert own[name] == expected, f"{cls.__name__}.{name}"


@pytest.mark.parametrize("cls", DOCUMENTED, ids=lambda cls: cls.__name__)
def test_every_parameter_is_documented_once_with_its_default(cls):
    documented = ClassDoc(cls)["Parameters"]
    assert [p.name for p in documented] == list(defaults(cls))
    for parameter in documented:
        found = re.search(r"default=(.+)$", parameter.type)
        assert found, f"{cls.__name__}.{parameter.name} documents no default"
        assert ast.literal_eval(found.group(1)) == defaults(cls)[parameter.name], parameter.name


def test_the_docstring_template_fails_loudly():
    class Documented:
        """Summary.

        Parameters
        ----------
        {parameters}

        Attributes
        ----------
        {attributes}
        """

        def __init__(self, n_components=2, colour="red"):
            pass

    with pytest.raises(TypeError, match=r"no documentation for parameters \['colour'\]"):
        fill_doc()(Documented)
    with pytest.raises(TypeError, match="unknown parameters"):
        fill_doc(colour="    colour : str", size="    size : int")(Documented)
    Documented.__doc__ = "Summary without placeholders."
    with pytest.raises(TypeError, match="lacks the placeholder"):
        fill_doc(colour="    colour : str")(Documented)


def user_guide_table():
    """``{parameter: default text}`` from the user guide's table of shared parameters."""
    rows = {}
    for line in USER_GUIDE.read_text().splitlines():
        cells = re.match(
            r"^(``[a-z_]+``(?:, ``[a-z_]+``)*)\s{2,}(``.+?``(?:, ``.+?``)*)\s{2,}", line
        )
        if cells:
            names = re.findall(r"``([a-z_]+)``", cells.group(1))
            values = re.findall(r"``(.+?)``", cells.group(2))
            rows.update(zip(names, values, strict=True))
    return rows


def test_the_user_guides_table_of_defaults_is_the_estimators():
    table = user_guide_table()
    assert set(table) == set(defaults(Autoencoder))
    for name, value in table.items():
        assert ast.literal_eval(value) == defaults(Autoencoder)[name], name
    # Families' own defaults, where the table names them: (``"x"`` for Family).
    text = USER_GUIDE.read_text()
    for value, family in re.findall(r"\(``(.+?)`` for\s+:class:`(\w+)`\)", text):
        (name,) = [n for (f, n) in OWN_DEFAULTS if f == family]
        assert ast.literal_eval(value) == OWN_DEFAULTS[(family, name)]
