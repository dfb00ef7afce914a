"""The one module of skae that imports scikit-learn's private names.

scikit-learn's parameter validation (``Interval``, ``StrOptions``, ...), its
``_fit_context`` decorator and ``_BaseComposition`` (the named-parts pattern of
``Pipeline`` and ``VotingClassifier``) are private to scikit-learn, so they may
move between releases. Every other skae module imports them from here, so a
move means one edit; ``tests/test_code_layout.py`` checks that no other module
imports a private scikit-learn name.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.metaestimators import _BaseComposition

__all__ = ["HasMethods", "Interval", "Options", "StrOptions", "_BaseComposition", "_fit_context"]
