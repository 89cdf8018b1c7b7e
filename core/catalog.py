"""The model catalog's vocabulary: what a model is called, what it serves, which knobs it has.

training.MODELS maps a catalog key to a ModelSpec. scikit-learn entries live in
core.sklearn_models, PyTorch entries in core.torch_catalog (which imports torch only when a model
is built, so listing the catalog stays fast).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sklearn.base import BaseEstimator

ParamKind = Literal["int", "float", "choice", "bool", "layers"]
Library = Literal["scikit-learn", "pytorch"]


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter worth a widget: the estimator's __init__ name, its range and default."""

    name: str
    label: str
    kind: ParamKind
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    help: str = ""


# (task, params, device, random_state) -> an unfitted estimator for the Pipeline's last step.
Builder = Callable[[str, dict[str, Any], str, int], BaseEstimator]


@dataclass(frozen=True)
class ModelSpec:
    """A catalog entry. tasks holds "regression" and/or "classification" (binary and multiclass)."""

    key: str
    label: str
    library: Library
    tasks: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    build: Builder = field(repr=False)
    needs_dense: bool = False
    uses_device: bool = False
    # The scikit-learn catalog key Compare devices trains beside a torch model, per task family.
    reference: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def serves(self, task: str) -> bool:
        family = "regression" if task == "regression" else "classification"
        return family in self.tasks
