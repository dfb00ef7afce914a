"""The notebook (HTML) repr links each public skae class to its API page.

scikit-learn's repr reads the hooks ``_doc_link_module`` and
``_doc_link_template``; skae sets them so that the link is
``skae._docs.DOCS_URL`` + ``generated/skae.<Class>.html``, the page Sphinx
autosummary writes for the class (``docs/api.rst``).
"""

import inspect
import re
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import skae
from skae import VAE, Autoencoder, ConvolutionalArchitecture
from skae._base import BaseAutoencoder
from skae._docs import DOC_LINK_TEMPLATE, DOCS_URL

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"

PUBLIC = sorted(
    {
        obj
        for name in skae.__all__
        if inspect.isclass(obj := getattr(skae, name))
        and issubclass(obj, BaseEstimator)
        and not inspect.isabstract(obj)
    },
    key=lambda cls: cls.__name__,
)


def page(cls):
    return f"{DOCS_URL}generated/skae.{cls.__name__}.html"


def links(html):
    return set(re.findall(r'href="([^"#]+)', html))


def test_the_link_template_is_built_from_the_one_base_url():
    assert DOC_LINK_TEMPLATE.startswith(DOCS_URL)
    assert DOC_LINK_TEMPLATE.format(estimator_module="skae", estimator_name="X") == (
        f"{DOCS_URL}generated/skae.X.html"
    )


@pytest.mark.parametrize("cls", PUBLIC, ids=lambda cls: cls.__name__)
def test_every_public_class_links_to_its_api_page(cls):
    assert page(cls) in links(cls()._repr_html_())


def test_the_estimators_and_the_architecture_have_their_api_page():
    # The regularizers link as well; their pages appear once docs/api.rst
    # lists them.
    listed = set(re.findall(r"^   (\w+)$", API.read_text(), flags=re.MULTILINE))
    estimators = {cls.__name__ for cls in PUBLIC if issubclass(cls, BaseAutoencoder)}
    assert estimators | {"ConvolutionalArchitecture"} <= listed


def test_a_pipeline_links_to_each_skae_step_and_the_alias_to_its_class():
    pipe = make_pipeline(MinMaxScaler(), VAE(architecture=ConvolutionalArchitecture()))
    found = links(pipe._repr_html_())
    assert page(skae.VariationalAutoencoder) in found
    assert any("sklearn.preprocessing.MinMaxScaler" in link for link in found)


def test_a_family_of_your_own_gets_no_skae_link():
    class MyAutoencoder(Autoencoder):
        pass

    assert MyAutoencoder()._get_doc_link() == ""
    assert not any(link.startswith(DOCS_URL) for link in links(MyAutoencoder()._repr_html_()))
