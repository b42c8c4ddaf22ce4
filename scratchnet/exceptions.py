"""The errors and warnings scratchnet's estimators raise, shaped like scikit-learn's.

They are defined here, not imported from scikit-learn (the library never needs it), and sit in
the same places of the exception hierarchy, so code written for scikit-learn catches and filters
them the same way::

    try:
        km.predict(X)
    except ValueError:          # or AttributeError: NotFittedError is both, as scikit-learn's is
        ...
    warnings.simplefilter("ignore", ConvergenceWarning)

Code that names scikit-learn's own classes (``except sklearn.exceptions.NotFittedError``, or
scikit-learn's ``check_estimator``, which insists on its class) has necessarily imported
scikit-learn already. So when scikit-learn is loaded, ``not_fitted_error`` and
``convergence_warning`` hand out a subclass of *both* classes, built on first use; when it is
not loaded they hand out scratchnet's own class, and scikit-learn is never imported.
"""
import functools
import sys


class NotFittedError(ValueError, AttributeError):
    """An estimator was used (``predict``, ``transform``, ...) before ``fit``.

    Both a ``ValueError`` and an ``AttributeError``, like ``sklearn.exceptions.NotFittedError``:
    ``hasattr(est, "labels_")``-style code and ``except ValueError`` code both see it."""

    def __reduce__(self):  # rebuilt by name in another process (joblib workers of GridSearchCV)
        return not_fitted_error, self.args


class ConvergenceWarning(UserWarning):
    """An iterative fit ended somewhere it should not have: K-means found fewer distinct clusters
    than asked for, a mixture model stopped at ``max_iter`` before its tolerance was met.

    A ``UserWarning``, like ``sklearn.exceptions.ConvergenceWarning``, so
    ``warnings.simplefilter("ignore", ConvergenceWarning)`` silences exactly these."""


@functools.cache
def _also_sklearns(ours, sklearn_name):
    """``ours`` as a subclass of scikit-learn's class of the same role as well."""
    theirs = getattr(sys.modules["sklearn.exceptions"], sklearn_name)
    return type(ours.__name__, (ours, theirs), {"__module__": __name__,
                                                "__doc__": ours.__doc__})


def _class_for(ours, sklearn_name):
    if "sklearn.exceptions" in sys.modules:  # loaded by the user or by scikit-learn itself
        return _also_sklearns(ours, sklearn_name)
    return ours


def not_fitted_error(message):
    """A ``NotFittedError`` (also scikit-learn's, when scikit-learn is loaded)."""
    return _class_for(NotFittedError, "NotFittedError")(message)


def convergence_warning():
    """The class to warn with: ``ConvergenceWarning`` (also scikit-learn's, when loaded)."""
    return _class_for(ConvergenceWarning, "ConvergenceWarning")
