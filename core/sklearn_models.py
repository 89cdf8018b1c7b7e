"""The scikit-learn half of the model catalog: one ModelSpec per model family.

A key serves regression, classification or both; its builder picks the regressor or the
classifier by task. Defaults bound model size on purpose: a fully grown random forest on
100,000 rows is about 63,000 leaves per tree, a 910 MB file and half an hour of SHAP. Tree depth
defaults stay at or below 12, so a tree has at most 8,191 nodes, far below the 32,767 at which
shap's TreeExplainer with background data crashes (shap issue 3486).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from core.catalog import ModelSpec, ParamSpec

# The machine this runs on is shared: never more than two worker threads per fit.
N_JOBS = 2

BOTH = ("regression", "classification")
REGRESSION = ("regression",)
CLASSIFICATION = ("classification",)

# Rows above which a model's fit time grows quadratically or worse (kernel SVM), or its
# prediction time and file grow with the training set (k-nearest neighbours keep every row).
SLOW_ABOVE_ROWS = {"svm": 20_000, "knn": 50_000}

_DEPTH_HELP = "Deeper trees fit more detail but make bigger files and slower explanations."


def _regressor(task: str) -> bool:
    return task == "regression"


def _alpha(default: float) -> ParamSpec:
    return ParamSpec(
        "alpha", "Regularization strength (alpha)", "float", default, 1e-4, 100.0, log=True,
        help="Larger values shrink the coefficients more.",
    )


def _c(default: float = 1.0) -> ParamSpec:
    return ParamSpec(
        "C", "Inverse regularization (C)", "float", default, 1e-3, 1000.0, log=True,
        help="Smaller values mean stronger regularization.",
    )


def _trees(default: int, high: int = 500) -> ParamSpec:
    return ParamSpec("n_estimators", "Number of trees", "int", default, 10, high, 10)


def _depth(default: int, high: int = 20) -> ParamSpec:
    return ParamSpec("max_depth", "Maximum tree depth", "int", default, 1, high, 1, help=_DEPTH_HELP)


def _min_leaf(default: int) -> ParamSpec:
    return ParamSpec(
        "min_samples_leaf", "Minimum rows per leaf", "int", default, 1, 200, 1,
        help="Larger leaves give smaller, smoother trees.",
    )


def _learning_rate(default: float, high: float = 1.0) -> ParamSpec:
    return ParamSpec("learning_rate", "Learning rate", "float", default, 0.001, high, log=True)


def _build_linear_regression(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    return LinearRegression()


def _build_logistic_regression(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    return LogisticRegression(C=p["C"], max_iter=p["max_iter"], random_state=seed)


def _build_ridge(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    return Ridge(alpha=p["alpha"], random_state=seed)


def _build_lasso(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    return Lasso(alpha=p["alpha"], max_iter=p["max_iter"], random_state=seed)


def _build_elastic_net(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    if _regressor(task):
        return ElasticNet(alpha=p["alpha"], l1_ratio=p["l1_ratio"], max_iter=p["max_iter"], random_state=seed)
    # One slider for both tasks: logistic regression's C is the inverse penalty weight, so larger
    # alpha regularizes more here too (saga is the solver that mixes L1 and L2).
    return LogisticRegression(
        C=1.0 / max(p["alpha"], 1e-12), l1_ratio=p["l1_ratio"], solver="saga", max_iter=p["max_iter"],
        random_state=seed,
    )


def _build_knn(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    cls = KNeighborsRegressor if _regressor(task) else KNeighborsClassifier
    return cls(n_neighbors=p["n_neighbors"], weights=p["weights"], n_jobs=N_JOBS)


def _build_svm(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    if _regressor(task):
        # SVR's C and epsilon are in target units; on a standardized target the defaults suit any scale.
        return TransformedTargetRegressor(SVR(C=p["C"], kernel=p["kernel"]), transformer=StandardScaler())
    # SVC(probability=True) is deprecated in scikit-learn 1.9; this is its replacement. Three
    # folds rather than five keep the extra fits for ROC and log loss cheaper.
    return CalibratedClassifierCV(SVC(C=p["C"], kernel=p["kernel"], random_state=seed), cv=3, ensemble=False)


def _build_decision_tree(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    cls = DecisionTreeRegressor if _regressor(task) else DecisionTreeClassifier
    return cls(max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"], random_state=seed)


def _build_random_forest(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    cls = RandomForestRegressor if _regressor(task) else RandomForestClassifier
    return cls(
        n_estimators=p["n_estimators"], max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"],
        max_features=p["max_features"], n_jobs=N_JOBS, random_state=seed,
    )


def _build_extra_trees(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    cls = ExtraTreesRegressor if _regressor(task) else ExtraTreesClassifier
    return cls(
        n_estimators=p["n_estimators"], max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"],
        max_features=p["max_features"], n_jobs=N_JOBS, random_state=seed,
    )


def _build_gradient_boosting(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    cls = GradientBoostingRegressor if _regressor(task) else GradientBoostingClassifier
    return cls(
        n_estimators=p["n_estimators"], learning_rate=p["learning_rate"], max_depth=p["max_depth"],
        subsample=p["subsample"], random_state=seed,
    )


def _build_hist_gradient_boosting(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    cls = HistGradientBoostingRegressor if _regressor(task) else HistGradientBoostingClassifier
    return cls(
        max_iter=p["max_iter"], learning_rate=p["learning_rate"], max_leaf_nodes=p["max_leaf_nodes"],
        early_stopping=p["early_stopping"], random_state=seed,
    )


def _build_adaboost(task: str, p: dict[str, Any], device: str, seed: int) -> BaseEstimator:
    cls = AdaBoostRegressor if _regressor(task) else AdaBoostClassifier
    return cls(n_estimators=p["n_estimators"], learning_rate=p["learning_rate"], random_state=seed)


_MAX_ITER = ParamSpec("max_iter", "Maximum solver iterations", "int", 1000, 100, 10_000, 100)
def _feature_share(default: float) -> ParamSpec:
    return ParamSpec(
        "max_features", "Share of features tried per split", "float", default, 0.1, 1.0, 0.05,
        help="Below 1.0, each split looks at a random share of the columns: faster, and less alike trees.",
    )

SPECS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            "linear_regression", "Linear regression", "scikit-learn", REGRESSION, (), _build_linear_regression,
            description="Ordinary least squares: the material's height/weight model.",
        ),
        ModelSpec(
            "logistic_regression", "Logistic regression", "scikit-learn", CLASSIFICATION, (_c(), _MAX_ITER),
            _build_logistic_regression,
            description="L2-regularized logistic regression; with a text column, the material's Yelp model.",
        ),
        ModelSpec(
            "ridge", "Ridge regression", "scikit-learn", REGRESSION, (_alpha(1.0),), _build_ridge,
            description="Least squares with an L2 penalty.",
        ),
        ModelSpec(
            "lasso", "Lasso regression", "scikit-learn", REGRESSION, (_alpha(0.1), _MAX_ITER), _build_lasso,
            description="Least squares with an L1 penalty: sets weak coefficients to zero.",
        ),
        ModelSpec(
            "elastic_net", "Elastic net", "scikit-learn", BOTH,
            (
                _alpha(0.1),
                ParamSpec("l1_ratio", "L1 share of the penalty", "float", 0.5, 0.0, 1.0, 0.05),
                _MAX_ITER,
            ),
            _build_elastic_net,
            description="L1 + L2 penalty; for classification, logistic regression with that penalty (saga solver).",
        ),
        ModelSpec(
            "knn", "k-nearest neighbours", "scikit-learn", BOTH,
            (
                ParamSpec("n_neighbors", "Neighbours (k)", "int", 5, 1, 100, 1),
                ParamSpec("weights", "Neighbour weights", "choice", "uniform", choices=("uniform", "distance")),
            ),
            _build_knn,
            description="Averages the k closest training rows; the model file holds the whole training set.",
        ),
        ModelSpec(
            "svm", "Support vector machine", "scikit-learn", BOTH,
            (_c(), ParamSpec("kernel", "Kernel", "choice", "rbf", choices=("rbf", "linear", "poly", "sigmoid"))),
            _build_svm,
            description="SVR (on a standardized target) / SVC; fit time grows with the square of the rows. "
            "Classification adds calibrated probabilities (3 extra fits) for ROC and log loss.",
        ),
        ModelSpec(
            "decision_tree", "Decision tree", "scikit-learn", BOTH, (_depth(8), _min_leaf(5)),
            _build_decision_tree,
        ),
        ModelSpec(
            "random_forest", "Random forest", "scikit-learn", BOTH,
            # Half the features per split: about half the fit time of all of them (3.5 minutes on
            # 100,000 x 20 on 2 busy cores), with the usual decorrelation benefit.
            (_trees(100), _depth(12), _min_leaf(5), _feature_share(0.5)),
            _build_random_forest,
            description="Bagged trees; depth and leaf size are bounded so files and SHAP stay small.",
        ),
        ModelSpec(
            "extra_trees", "Extra trees", "scikit-learn", BOTH,
            (_trees(100), _depth(12), _min_leaf(5), _feature_share(1.0)),
            _build_extra_trees,
            description="Like a random forest with random split points: faster to fit.",
        ),
        ModelSpec(
            "gradient_boosting", "Gradient boosting", "scikit-learn", BOTH,
            (
                _trees(100, high=1000),
                _learning_rate(0.1),
                _depth(3, high=10),
                ParamSpec("subsample", "Row share per tree", "float", 1.0, 0.1, 1.0, 0.05,
                          help="Below 1.0 is stochastic gradient boosting."),
            ),
            _build_gradient_boosting,
            description="The material's Boston model (400 trees there).",
        ),
        ModelSpec(
            "hist_gradient_boosting", "Histogram gradient boosting", "scikit-learn", BOTH,
            (
                ParamSpec("max_iter", "Boosting iterations", "int", 100, 10, 1000, 10),
                _learning_rate(0.1),
                ParamSpec("max_leaf_nodes", "Leaves per tree", "int", 31, 2, 255, 1),
                ParamSpec("early_stopping", "Early stopping", "choice", "auto", choices=("auto", True, False),
                          help="auto: on when there are more than 10,000 training rows."),
            ),
            _build_hist_gradient_boosting,
            needs_dense=True,
            description="Binned gradient boosting: fast on large data.",
        ),
        ModelSpec(
            "adaboost", "AdaBoost", "scikit-learn", BOTH, (_trees(50), _learning_rate(1.0, high=2.0)),
            _build_adaboost,
            description="Boosted shallow trees (stumps for classification, depth 3 for regression).",
        ),
    )
}


def scaling_note(key: str, n_rows: int) -> str | None:
    """A sentence warning that this model is slow (or large) on this many training rows, else None."""
    limit = SLOW_ABOVE_ROWS.get(key)
    if limit is None or n_rows <= limit:
        return None
    if key == "svm":
        return (
            f"Kernel SVM fit time grows with the square of the rows: {n_rows:,} training rows may take many "
            "minutes; gradient boosting or a linear model is much faster here."
        )
    return (
        f"k-nearest neighbours keeps all {n_rows:,} training rows in the model: the file is large and each "
        "prediction searches them all."
    )


# Models whose max_iter is a solver's iteration limit (not a number of boosting rounds).
_ITERATIVE_SOLVERS = {"logistic_regression", "lasso", "elastic_net"}


def convergence_note(key: str, estimator: BaseEstimator, params: dict[str, Any]) -> str | None:
    """A sentence when an iterative solver stopped at its iteration limit before converging, else None."""
    if key not in _ITERATIVE_SOLVERS or not hasattr(estimator, "n_iter_"):
        return None
    limit = params.get("max_iter")
    iterations = int(np.max(np.ravel(estimator.n_iter_)))
    if limit is None or iterations < int(limit):
        return None
    return (
        f"The solver stopped at its limit of {int(limit):,} iterations before converging: raise the iteration "
        "limit or the regularization strength."
    )
