"""What makes a scratchnet estimator a drop-in for scikit-learn's, without importing it.

scikit-learn's tools (``clone``, ``GridSearchCV``, ``cross_val_score``, ``Pipeline``,
``check_estimator``) need four things from an estimator, and this module gives them:

1. ``get_params`` / ``set_params``, read from ``__init__``'s signature: every constructor
   argument is stored unchanged under its own name, and nothing else is done in ``__init__``
   (validation happens in ``fit``), so ``type(est)(**est.get_params())`` is a faithful copy;
2. ``__sklearn_tags__``, what kind of estimator this is (a clusterer, a transformer, ...).
   It returns scikit-learn's own ``Tags`` object, so it imports scikit-learn, *inside the
   method*: only scikit-learn calls it, so the import happens only when scikit-learn is already
   loaded and costs nothing; a user without scikit-learn never runs it. Subclassing
   ``sklearn.base.BaseEstimator`` instead would make scikit-learn a dependency of the library;
3. fitted-state checks that raise ``NotFittedError`` (a ``ValueError`` and an
   ``AttributeError``), and ``__sklearn_is_fitted__`` for ``sklearn.utils.check_is_fitted``;
4. input validation with scikit-learn's messages where its checks match on them ("X has 3
   features, but KMeans is expecting 4 features as input", "Complex data not supported").
"""
import inspect

import numpy as np

from .exceptions import not_fitted_error


def check_array(X, who, *, dtypes=(np.float32, np.float64), check_finite=True):
    """X as a C-contiguous 2-D float array, or a clear error naming ``who`` and what came.

    Accepted: NumPy arrays, lists, anything with ``__array__`` (a pandas DataFrame, including
    one of dtype object holding numbers). float32 and float64 are kept; other numbers become
    float64. Refused: sparse matrices (the kernels read dense rows), complex numbers, strings,
    anything not 2-D, an empty X, NaN or infinity (unless ``check_finite=False``: the caller
    then checks, e.g. from a sum it computes anyway).
    """
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{who}: sparse input is not supported (the kernels read dense rows); "
                        f"got {type(X).__name__}; pass X.toarray() if it fits in memory")
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.dtype.kind == "c":
        raise ValueError(f"{who}: Complex data not supported; got dtype {X.dtype}")
    if X.dtype.kind == "O":  # numbers stored as Python objects, e.g. from a pandas DataFrame
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{who}: expected numbers in X, {exc}") from None
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{who}: expected a numeric array, got dtype {X.dtype}")
    if X.ndim != 2:
        hint = ("; Reshape your data with X.reshape(-1, 1) if it has one feature or "
                "X.reshape(1, -1) if it is one sample" if X.ndim == 1 else "")
        raise ValueError(f"{who}: expected X of shape (n_samples, n_features), got shape "
                         f"{X.shape}{hint}")
    if X.dtype not in dtypes:
        X = X.astype(dtypes[-1])
    for axis, what in ((0, "sample"), (1, "feature")):
        if X.shape[axis] == 0:  # scikit-learn's wording, which its checks look for
            raise ValueError(f"{who}: Found array with 0 {what}(s) (shape={X.shape}) while a "
                             "minimum of 1 is required.")
    if check_finite:
        raise_if_not_finite(X, X.sum(), who)
    return np.ascontiguousarray(X)


def raise_if_not_finite(X, total, who):
    """``total`` is a sum over all of X: one number is cheaper to test than a mask the size of X.
    It is not finite if any entry is not (or, rarely, if it overflows: the full check decides)."""
    if not np.isfinite(total) and not np.isfinite(X).all():
        raise ValueError(f"{who}: X contains NaN or infinity")


def check_sample_weight(sample_weight, n, dtype, who):
    """``None`` stays ``None`` (the unweighted fast path); a number or an array-like of n
    finite, non-negative numbers, not all zero, becomes a fresh (n,) array of ``dtype``."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.ndim == 0:
        w = np.full(n, w)
    if w.dtype.kind not in "fiub":
        raise TypeError(f"{who}: expected numeric sample_weight, got dtype {w.dtype}")
    if w.shape != (n,):
        raise ValueError(f"{who}: expected sample_weight of shape ({n},), one per sample, "
                         f"got shape {w.shape}")
    w = w.astype(dtype)  # always a copy: the caller's array is never written
    if not np.isfinite(w).all() or (w < 0).any() or not w.any():
        raise ValueError(f"{who}: expected finite, non-negative sample_weight, not all zero")
    return w


class BaseEstimator:
    """Parameters, tags, fitted checks and feature bookkeeping shared by the estimators.

    A subclass sets ``_estimator_type`` ("clusterer", "transformer", "density_estimator") and
    ``_fitted_attr`` (an attribute only a successful ``fit`` sets), and
    calls ``self._validate_X(X, who, reset=...)`` at the top of ``fit`` (``reset=True``) and of
    every method that takes new data (``reset=False``).
    """

    _estimator_type = None
    _fitted_attr = "n_features_in_"  # an attribute that exists once fit has succeeded
    _preserves_dtype = ("float64", "float32")  # transform returns X's dtype for these

    # -- parameters ---------------------------------------------------------------------------

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep=True):
        """The constructor arguments, as a dict (with ``deep``, also ``name__param`` for
        parameters that are themselves estimators)."""
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
        """Set constructor arguments (``name__param`` reaches into a nested estimator);
        returns ``self``. Values are checked when ``fit`` runs, as in scikit-learn."""
        valid = self._get_param_names()
        nested = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"{type(self).__name__}.set_params: unknown parameter {name!r};"
                                 f" valid parameters are {valid}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self):
        """``KMeans(n_clusters=3)``: the parameters that differ from their defaults."""
        sig = inspect.signature(type(self).__init__)
        changed = []
        for name in self._get_param_names():
            default = sig.parameters[name].default
            value = getattr(self, name)
            same = value is default
            if not same and not isinstance(value, np.ndarray):
                try:
                    same = bool(value == default)
                except (TypeError, ValueError):
                    same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- scikit-learn's view of the estimator ---------------------------------------------------

    def __sklearn_tags__(self):
        """scikit-learn's description of this estimator (see the module docstring for why
        scikit-learn is imported here, and only here)."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags
        transformer = None
        if hasattr(self, "transform"):
            transformer = TransformerTags(preserves_dtype=list(self._preserves_dtype))
        return Tags(estimator_type=self._estimator_type,
                    target_tags=TargetTags(required=False),
                    transformer_tags=transformer,
                    input_tags=InputTags(sparse=False, allow_nan=False))

    def __sklearn_is_fitted__(self):
        return hasattr(self, self._fitted_attr)

    def _check_fitted(self, who):
        if not self.__sklearn_is_fitted__():
            raise not_fitted_error(f"{type(self).__name__}.{who}: this instance is not fitted "
                                   "yet; call fit() first")

    # -- data ----------------------------------------------------------------------------------

    def _validate_X(self, X, who, *, reset, check_finite=True):
        """``check_array``, and the features' count and names: recorded when ``reset`` (in fit),
        checked against the recorded ones otherwise."""
        if not reset:
            self._check_fitted(who.rpartition(".")[2])
        columns = getattr(X, "columns", None)
        names = None
        if columns is not None and all(isinstance(c, str) for c in columns):
            names = np.asarray(columns, dtype=object)
        X = check_array(X, who, check_finite=check_finite)
        if reset:
            self.n_features_in_ = X.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return X
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"{who}: X has {X.shape[1]} features, but {type(self).__name__} "
                             f"is expecting {self.n_features_in_} features as input (as in fit)")
        fitted = getattr(self, "feature_names_in_", None)
        if names is not None and fitted is not None and not np.array_equal(names, fitted):
            raise ValueError(f"{who}: The feature names should match those that were passed "
                             f"during fit: got {list(names)}, fitted on {list(fitted)}")
        return X

    def _feature_names_out(self, prefix, n_out, input_features):
        """Output names ``prefix0 .. prefix{n_out-1}`` (scikit-learn's convention for
        transformers whose outputs are new quantities, like distances to centers).
        ``input_features``, if given, must name the fitted inputs."""
        self._check_fitted("get_feature_names_out")
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            if len(input_features) != self.n_features_in_:
                raise ValueError(f"{type(self).__name__}.get_feature_names_out: input_features "
                                 f"should have length equal to number of features "
                                 f"({self.n_features_in_}), got {len(input_features)}")
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and not np.array_equal(input_features, fitted):
                raise ValueError(f"{type(self).__name__}.get_feature_names_out: input_features "
                                 "is not equal to feature_names_in_")
        return np.asarray([f"{prefix}{i}" for i in range(n_out)], dtype=object)
