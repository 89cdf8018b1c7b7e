"""The PyTorch entries of the model catalog (training.MODELS merges SPECS).

torch is NOT imported here: listing the catalog must stay fast. build() imports core.torch_models
(and with it torch) only when a model is actually made.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

from core.catalog import ModelSpec, ParamSpec

DEFAULT_HIDDEN_LAYERS = "64,32"


def parse_layers(value: Any) -> tuple[int, ...]:
    """Hidden layer widths from "64,32", "64 32", (64, 32) or 64; "" means no hidden layer."""
    if value is None:
        return ()
    if isinstance(value, int) and not isinstance(value, bool):
        items: list[Any] = [value]
    elif isinstance(value, str):
        items = [part for part in value.replace(";", ",").replace(" ", ",").split(",") if part.strip()]
    else:
        items = list(value)
    try:
        widths = tuple(int(str(item).strip()) for item in items)
    except ValueError:
        raise ValueError(
            f"Hidden layers must be whole numbers separated by commas, like 64,32 (got {value!r})."
        ) from None
    if any(w < 1 or w > 4096 for w in widths):
        raise ValueError(f"Each hidden layer needs between 1 and 4096 units (got {value!r}).")
    if len(widths) > 8:
        raise ValueError(f"Use at most 8 hidden layers (got {len(widths)}).")
    return widths


def _training_params(
    epochs: int, learning_rate: float, optimizer: str, early_stopping: bool = False, weight_decay: float = 0.0
) -> tuple[ParamSpec, ...]:
    """The knobs every torch model shares, with the model's own defaults."""
    return (
        ParamSpec(
            "epochs", "Epochs", "int", epochs, low=1, high=5000, step=1, help="Passes over the training rows."
        ),
        ParamSpec(
            "learning_rate",
            "Learning rate",
            "float",
            learning_rate,
            low=1e-4,
            high=1.0,
            log=True,
            help="Inputs are standardized inside the model, so 0.1 suits plain SGD and 0.01 suits Adam.",
        ),
        ParamSpec(
            "optimizer",
            "Optimizer",
            "choice",
            optimizer,
            choices=("sgd", "adam"),
            help="sgd: plain gradient descent, as in the course material; adam: adaptive steps.",
        ),
        ParamSpec(
            "batch_size",
            "Batch size",
            "int",
            0,
            low=0,
            high=65536,
            step=1,
            help="0 trains on all rows at once (full batch, good for small data); try 256-4096 for large data.",
        ),
        ParamSpec(
            "weight_decay",
            "Weight decay",
            "float",
            weight_decay,
            low=0.0,
            high=0.1,
            step=1e-4,
            help="L2 penalty on the weights.",
        ),
        ParamSpec(
            "early_stopping",
            "Early stopping",
            "bool",
            early_stopping,
            help="Hold out 10% of the training rows; stop when their loss stops improving and keep the best weights.",
        ),
        ParamSpec(
            "random_state",
            "Seed",
            "int",
            7,
            low=0,
            high=2**31 - 1,
            step=1,
            help="Same seed, data and device give the same model.",
        ),
    )


_LAYERS = ParamSpec(
    "hidden_layers",
    "Hidden layers",
    "layers",
    DEFAULT_HIDDEN_LAYERS,
    help="Units per hidden layer, separated by commas (ReLU between layers).",
)


def _build(kind: str):
    """The catalog builder for one entry: picks the estimator class by task when it is built."""

    def build(task: str, params: dict[str, Any], device: str, random_state: int) -> BaseEstimator:
        from core import torch_models  # torch is imported only here

        spec = SPECS[kind]
        # The run's seed, unless the analyst set the model's own seed widget.
        values = {**spec.defaults(), "random_state": random_state, **(params or {})}
        values["device"] = device or "cpu"
        regression = task == "regression"
        if kind == "torch_linear":
            cls = torch_models.TorchLinearRegressor
        elif kind == "torch_logistic":
            cls = torch_models.TorchLogisticClassifier
        else:
            cls = torch_models.TorchMLPRegressor if regression else torch_models.TorchMLPClassifier
            values["hidden_layers"] = parse_layers(values.get("hidden_layers", DEFAULT_HIDDEN_LAYERS))
        if not spec.serves(task):
            raise ValueError(f"{spec.label} does not do {task}; pick a model for this task.")
        names = cls().get_params()
        return cls(**{k: v for k, v in values.items() if k in names})

    return build


SPECS: dict[str, ModelSpec] = {
    "torch_linear": ModelSpec(
        key="torch_linear",
        label="PyTorch linear regression",
        library="pytorch",
        tasks=("regression",),
        params=_training_params(epochs=100, learning_rate=0.1, optimizer="sgd"),
        build=_build("torch_linear"),
        needs_dense=True,
        uses_device=True,
        reference={"regression": "linear_regression"},
        description="One linear layer trained by gradient descent: the course material's PyTorch model.",
    ),
    "torch_logistic": ModelSpec(
        key="torch_logistic",
        label="PyTorch logistic regression",
        library="pytorch",
        tasks=("classification",),
        params=_training_params(epochs=200, learning_rate=0.5, optimizer="sgd"),
        build=_build("torch_logistic"),
        needs_dense=True,
        uses_device=True,
        reference={"classification": "logistic_regression"},
        description="One linear layer with a softmax, trained by gradient descent on the cross-entropy.",
    ),
    "torch_mlp": ModelSpec(
        key="torch_mlp",
        label="PyTorch MLP",
        library="pytorch",
        tasks=("regression", "classification"),
        params=(
            _LAYERS,
            *_training_params(epochs=200, learning_rate=0.01, optimizer="adam", early_stopping=True, weight_decay=0.01),
        ),
        build=_build("torch_mlp"),
        needs_dense=True,
        uses_device=True,
        # No catalog key: Compare devices builds sklearn's MLPRegressor/MLPClassifier with the same layers.
        reference={"regression": "sklearn MLPRegressor", "classification": "sklearn MLPClassifier"},
        description="A multilayer perceptron (ReLU hidden layers) trained on the device you pick.",
    ),
}
