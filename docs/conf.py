"""Sphinx configuration of the skae documentation.

Build with ``docs/build.sh`` (warnings are errors). Nothing here reaches the
network: no intersphinx, no remote images, and the gallery links only to
skae's own reference pages.
"""

import os
import sys
import warnings
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

import skae

# The gallery runs every example at build time, in this process. On the
# shared two-core CI machines torch's default of one OpenMP thread per core
# makes small networks many times slower when the other core is busy (the
# threads wait on each other); one thread is faster there and gives the same
# numbers run after run.
torch.set_num_threads(1)
# Same reason for the BLAS and OpenMP pools of numpy and scikit-learn (PCA's
# SVD, the SVC) in the examples.
threadpool_limits(1)

# Matplotlib renders to files only.
os.environ.setdefault("MPLBACKEND", "Agg")

sys.path.insert(0, str(Path(__file__).parent))

project = "skae"
author = "The skae developers"
copyright = "The skae developers"
version = release = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "build.sh", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

# -- API reference -----------------------------------------------------------

autosummary_generate = True
autodoc_typehints = "none"
# A method without a docstring stays undocumented rather than showing its
# parent's: torch's generic text for every module's forward and extra_repr.
autodoc_inherit_docstrings = False
# The class template lists the methods itself; numpydoc's own member tables
# would need one stub page per inherited method.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# Docstring checks that fail the -W build. The ones left out follow
# scikit-learn's own test of its docstrings (RT02: named return values; GL01,
# GL02: layout) or are gaps listed in docs/README.md (an Examples, See Also
# and extended summary for every object).
numpydoc_validation_checks = {"all", "GL01", "GL02", "RT02", "ES01", "SA01", "EX01"}
numpydoc_validation_exclude = {
    # Inherited from scikit-learn, documented there.
    r"\.(get_params|set_params|fit_transform|set_output|get_feature_names_out)$",
    r"\.(get_metadata_routing|set_\w+_request)$",
}

# -- HTML --------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "icon_links": [],
}
html_sidebars = {"index": [], "api": [], "user_guide": []}
html_show_sourcelink = False

# -- Example gallery -----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    # "Examples using skae.X" lists on the API pages.
    "doc_module": ("skae",),
    "backreferences_dir": "generated/backreferences",
    # Link code only to skae's own pages: linking other projects would fetch
    # their search indexes over the network.
    "reference_url": {"skae": None},
    "remove_config_comments": True,
    "min_reported_time": 1,
    "download_all_examples": False,
    "show_signature": False,
    # A broken example fails the build (the default, stated for CI).
    "only_warn_on_example_error": False,
    # The times are in the build log; the page would be an untracked file in
    # the source tree.
    "write_computation_times": False,
}

# -- Links to other projects, without intersphinx ----------------------------
#
# intersphinx would download the other projects' inventories at build time.
# Instead, references to scikit-learn and torch objects that Sphinx cannot
# resolve become links built from their documented URL schemes, and the
# labels that scikit-learn's inherited docstrings point at (its user guide and
# gallery) become links to its site.

_SKLEARN = "https://scikit-learn.org/stable/"
_TORCH = "https://docs.pytorch.org/docs/stable/generated/"
_SKLEARN_LABELS = {
    "metadata_routing": _SKLEARN + "metadata_routing.html",
    "df_output_transform": _SKLEARN + "modules/df_output_transform.html",
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        _SKLEARN + "auto_examples/miscellaneous/plot_set_output.html"
    ),
    # ClassifierMixin.score and RegressorMixin.score, inherited.
    "accuracy_score": _SKLEARN + "modules/model_evaluation.html#accuracy-score",
    "r2_score": _SKLEARN + "modules/model_evaluation.html#r2-score",
}
# Glossary terms of the same docstrings (the set_*_request methods).
_SKLEARN_TERMS = {"meta-estimator": _SKLEARN + "glossary.html#term-meta-estimator"}


def _external_url(domain, reftype, target):
    if domain == "std" and reftype == "ref":
        return _SKLEARN_LABELS.get(target)
    if domain == "std" and reftype == "term":
        return _SKLEARN_TERMS.get(target)
    if domain != "py" or reftype not in ("class", "func", "meth", "obj"):
        return None
    parts = target.split(".")
    if parts[0] == "sklearn" and len(parts) >= 3 and not parts[1].startswith("_"):
        if reftype == "meth":  # sklearn.pipeline.Pipeline.fit
            page = ".".join(parts[:-1])
            return f"{_SKLEARN}modules/generated/{page}.html#{target}"
        return f"{_SKLEARN}modules/generated/{target}.html"
    if parts[0] == "torch" and reftype in ("class", "func", "obj") and parts[-1][:1].isalpha():
        if parts[:3] == ["torch", "nn", "modules"]:  # torch.nn.modules.linear.Linear
            target = f"torch.nn.{parts[-1]}"
        return f"{_TORCH}{target}.html"
    return None


def _link_external(app, env, node, contnode):
    from docutils import nodes

    url = _external_url(node.get("refdomain"), node.get("reftype"), node.get("reftarget", ""))
    if url is None:
        return None
    if node.get("reftype") in ("ref", "term") and not node.get("refexplicit"):
        contnode = nodes.Text(node["reftarget"])
    reference = nodes.reference("", "", internal=False, refuri=url)
    reference.append(contnode)
    return reference


def _reexported_data_doc(app, what, name, obj, options, lines):
    """Give re-exported data the ``#:`` comment of the module that defines it.

    autodoc reads a data docstring from the module the object is documented
    under: ``skae.nn``, which only imports ``ACTIVATIONS`` from
    ``skae.nn._init``, where its comment is, and falls back on the docstring
    of the value's type (``dict``). Runs before numpydoc, which then
    validates the comment.
    """
    text = "\n".join(lines).strip()
    if what != "data" or (text and text != (type(obj).__doc__ or "").strip()):
        return
    from sphinx.pycode import ModuleAnalyzer

    package, _, attr = name.rpartition(".")
    for module_name, module in sorted(sys.modules.items()):
        if module_name.startswith(package + ".") and getattr(module, attr, None) is obj:
            comment = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", attr))
            if comment:
                lines[:] = list(comment)
                return


def setup(app):
    app.connect("missing-reference", _link_external)
    app.connect("autodoc-process-docstring", _reexported_data_doc, priority=400)


# skorch prints deprecation notices that are not ours; keep the build log to
# what matters.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="skorch")
