"""PyTorch models as scikit-learn estimators, trained on the CPU, a CUDA GPU or Apple MPS.

They follow scikit-learn's estimator contract (parameters only stored in __init__, learned
attributes end in "_", classes_ on classifiers, clone/get_params/set_params), so they sit as the
last step of the same Pipeline as the scikit-learn models.

How a fit works, and why:
- Inputs (and a regression target) are standardized inside the estimator (x_mean_, x_scale_,
  y_mean_, y_scale_), so plain SGD at lr=0.1 converges in tens of epochs whatever the units.
- Scipy sparse input (the preprocessing output when there are text columns) is made dense: the
  data sets this workbench handles fit in memory, and dense tensors are what the GPU is fast at.
- The data is copied to the device once, as float32; batches are index slices of it (a
  torch.randperm on the device per epoch when mini-batching), never a per-sample DataLoader.
- The device is synchronized only after the first epoch and at the end (for the timings), plus
  when the epoch callback or early stopping needs a loss value on the host.
- After the fit the network is moved to the CPU and predict/predict_proba run there: a pickle
  never holds a CUDA tensor, and a model trained on a GPU predicts on a laptop.

fit_timings_ (seconds) separate what a device comparison must not mix up:
  prepare_s      host side: input checks, standardization, float32 copies
  setup_s        first-call overhead: device context init, host-to-device copy, model to device
  first_epoch_s  the first epoch, which also pays lazy kernel loading and library handles on a GPU
  epochs_s       steady state: all epochs after the first
  epoch_s        mean steady-state epoch (epochs_s / (epochs - 1); the first epoch when only one ran)
  samples_per_s  training rows per second in steady state
  finish_s       best-weights restore and the copy of the weights back to the CPU
  fit_s          the whole fit
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from core.devices import describe
from core.torch_catalog import parse_layers

# (epoch, training loss, validation loss or None) -> True to stop training now.
EpochCallback = Callable[[int, float, float | None], bool]

# Rows per forward pass at predict time: bounds memory for large batch scoring.
PREDICT_CHUNK_ROWS = 65536


def _sync(device: torch.device) -> None:
    """Wait for queued device work, so a clock read afterwards measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _resolve_device(name: str) -> torch.device:
    """torch.device for a name, or ValueError with the reason when it is not usable here."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"Unknown device {name!r}: choose one of cpu, cuda, mps.") from None
    record = describe(device.type)
    if not record.available:
        raise ValueError(f"{record.label} cannot be used: {record.reason}.")
    return device


def _network(
    n_inputs: int, hidden: tuple[int, ...], n_outputs: int, generator: torch.Generator
) -> nn.Sequential:
    """Linear layers with a ReLU between each, initialised from the seeded CPU generator.

    Initialising on the CPU makes the starting weights identical on every device, so the loss
    curves of a device comparison start from the same point.
    """
    layers: list[nn.Module] = []
    widths = (n_inputs, *hidden, n_outputs)
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        linear = nn.Linear(fan_in, fan_out)
        bound = 1.0 / max(fan_in, 1) ** 0.5  # PyTorch's default Linear init range
        with torch.no_grad():
            nn.init.uniform_(linear.weight, -bound, bound, generator=generator)
            nn.init.uniform_(linear.bias, -bound, bound, generator=generator)
        layers.append(linear)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())  # one instance per layer: shap's DeepExplainer hooks each module
    return nn.Sequential(*layers)


def _dense(X: Any) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else np.asarray(X)


class _TorchEstimator(BaseEstimator):
    """The fit loop, timing, pickling and SHAP module shared by the four torch estimators."""

    def __init__(
        self,
        *,
        epochs: int = 100,
        learning_rate: float = 0.1,
        optimizer: str = "sgd",
        batch_size: int | None = 0,
        weight_decay: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        device: str = "cpu",
    ) -> None:
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device

    # --- what the subclasses decide -------------------------------------------------------
    def _hidden_layers(self) -> tuple[int, ...]:
        return parse_layers(getattr(self, "hidden_layers", ()))

    def _is_classifier(self) -> bool:
        return False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # made dense inside fit
        tags.input_tags.allow_nan = False
        return tags

    # --- checks ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be at least 1 (got {self.epochs}).")
        if not float(self.learning_rate) > 0:
            raise ValueError(f"The learning rate must be above 0 (got {self.learning_rate}).")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam' (got {self.optimizer!r}).")
        if self.batch_size is not None and int(self.batch_size) < 0:
            raise ValueError(
                f"batch_size must be 0 (full batch) or a positive number (got {self.batch_size})."
            )
        if float(self.weight_decay) < 0:
            raise ValueError(f"weight_decay cannot be negative (got {self.weight_decay}).")
        if self.early_stopping and not 0 < float(self.validation_fraction) < 1:
            raise ValueError(f"validation_fraction must be between 0 and 1 (got {self.validation_fraction}).")
        if self.early_stopping and int(self.n_iter_no_change) < 1:
            raise ValueError(f"n_iter_no_change must be at least 1 (got {self.n_iter_no_change}).")

    # --- fit ------------------------------------------------------------------------------
    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        """The target as the network trains on it, and the number of outputs."""
        raise NotImplementedError

    def _validation_split(self, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(y)
        everything = np.arange(n)
        if not self.early_stopping:
            return everything, everything[:0]
        if n < 2:
            raise ValueError(
                f"Early stopping holds out validation rows and there is only {n} sample: switch it off or add rows."
            )
        stratify = None
        if self._is_classifier():
            _, counts = np.unique(y, return_counts=True)
            n_val = max(1, round(float(self.validation_fraction) * n))
            if counts.min() >= 2 and n_val >= len(counts) and n - n_val >= len(counts):
                stratify = y
        train_idx, val_idx = train_test_split(
            everything, test_size=float(self.validation_fraction), random_state=seed, stratify=stratify
        )
        if len(train_idx) == 0 or len(val_idx) == 0:
            raise ValueError("Too few rows to hold out a validation split: switch early stopping off.")
        return np.sort(train_idx), np.sort(val_idx)

    def fit(
        self,
        X: Any,
        y: Any,
        epoch_callback: EpochCallback | None = None,
        callback_every_s: float = 0.0,
    ):
        """Train on (X, y); epoch_callback(epoch, loss, val_loss) -> True stops and keeps the model.

        The callback runs after each epoch, or at most every callback_every_s seconds (and after
        the first and the last epoch) when that is above 0: each call reads the loss from the device, which on
        a GPU is a synchronization a timing comparison should not pay every epoch.
        """
        started = time.perf_counter()
        self._check_params()
        device = _resolve_device(str(self.device))
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=True,
            dtype=(np.float64, np.float32),
            y_numeric=not self._is_classifier(),
        )
        X = _dense(X)
        target, n_outputs = self._encode_target(y)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))

        self.x_mean_ = X.mean(axis=0, dtype=np.float64)
        scale = X.std(axis=0, dtype=np.float64)
        self.x_scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        standardized = ((X - self.x_mean_) / self.x_scale_).astype(np.float32)
        if not np.isfinite(standardized).all():
            raise ValueError("The inputs contain infinite or missing values; impute them before this model.")
        train_idx, val_idx = self._validation_split(target if self._is_classifier() else y, seed)
        prepared = time.perf_counter()

        # First-call overhead: device context, host-to-device copy, model to device.
        generator = torch.Generator().manual_seed(seed)
        torch.zeros(1, device=device)
        target_dtype = torch.long if self._is_classifier() else torch.float32
        X_all = torch.from_numpy(standardized).to(device)
        y_all = torch.as_tensor(target, dtype=target_dtype).to(device)
        if len(val_idx):
            idx_train = torch.as_tensor(train_idx, device=device)
            idx_val = torch.as_tensor(val_idx, device=device)
            X_train, y_train = X_all[idx_train], y_all[idx_train]
            X_val, y_val = X_all[idx_val], y_all[idx_val]
            del X_all, y_all
        else:
            X_train, y_train, X_val, y_val = X_all, y_all, None, None
        network = _network(X.shape[1], self._hidden_layers(), n_outputs, generator).to(device)
        if self.optimizer == "adam":
            optim: torch.optim.Optimizer = torch.optim.Adam(
                network.parameters(), lr=float(self.learning_rate), weight_decay=float(self.weight_decay)
            )
        else:
            optim = torch.optim.SGD(
                network.parameters(), lr=float(self.learning_rate), weight_decay=float(self.weight_decay)
            )
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = (
            nn.functional.cross_entropy if self._is_classifier() else nn.functional.mse_loss
        )
        n_train = X_train.shape[0]
        batch = int(self.batch_size or 0)
        full_batch = batch <= 0 or batch >= n_train
        perm_generator = torch.Generator(device=device).manual_seed(seed) if not full_batch else None
        _sync(device)
        set_up = time.perf_counter()

        epoch_losses: list[torch.Tensor] = []
        val_losses: list[float | None] = []
        best_val, best_state, best_epoch, bad_epochs = float("inf"), None, 0, 0
        stopped_by_callback = False
        first_epoch_end = set_up
        last_callback = set_up
        epochs = int(self.epochs)
        network.train()
        # The material's model is one Linear layer: calling it directly saves the Sequential's
        # Python call per step, which is a measurable share of a 20,000-row full-batch epoch.
        forward: nn.Module = network[0] if len(network) == 1 else network
        for epoch in range(1, epochs + 1):
            if full_batch:
                optim.zero_grad(set_to_none=True)
                loss = loss_fn(forward(X_train), y_train)
                loss.backward()
                optim.step()
                epoch_loss = loss.detach()
            else:
                order = torch.randperm(n_train, device=device, generator=perm_generator)
                total = torch.zeros((), device=device)
                for start in range(0, n_train, batch):
                    rows = order[start : start + batch]
                    optim.zero_grad(set_to_none=True)
                    loss = loss_fn(forward(X_train[rows]), y_train[rows])
                    loss.backward()
                    optim.step()
                    total += loss.detach() * rows.shape[0]
                epoch_loss = total / n_train
            epoch_losses.append(epoch_loss)

            val_loss = None
            if X_val is not None:
                network.eval()
                with torch.no_grad():
                    val_loss = float(loss_fn(forward(X_val), y_val))
                network.train()
                if val_loss < best_val - float(self.tol):
                    best_val, best_epoch, bad_epochs = val_loss, epoch, 0
                    best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
                else:
                    bad_epochs += 1
            val_losses.append(val_loss)

            if epoch == 1:
                _sync(device)
                first_epoch_end = time.perf_counter()
            finished = X_val is not None and bad_epochs >= int(self.n_iter_no_change)
            if epoch_callback is not None:
                now = time.perf_counter()
                # Always after the first and the last epoch, so a page shows progress and Stop at once.
                if (
                    callback_every_s <= 0
                    or now - last_callback >= callback_every_s
                    or epoch in (1, epochs)
                    or finished
                ):
                    last_callback = now
                    if epoch_callback(epoch, float(epoch_loss), val_loss):
                        stopped_by_callback = True
                        break
            if finished:
                break
        _sync(device)
        trained = time.perf_counter()

        losses = torch.stack(epoch_losses).cpu().tolist()
        if not np.isfinite(losses[-1]):
            raise ValueError(
                "Training diverged (the loss became infinite or not a number): lower the learning rate or use Adam."
            )
        if best_state is not None:
            network.load_state_dict(best_state)
        self.module_ = network.to("cpu").eval()
        self.history_ = [
            {"epoch": i + 1, "loss": float(loss), "val_loss": val}
            for i, (loss, val) in enumerate(zip(losses, val_losses, strict=True))
        ]
        self.n_epochs_ = len(losses)
        self.best_epoch_ = best_epoch if best_state is not None else self.n_epochs_
        self.stopped_early_ = stopped_by_callback
        self.device_ = str(device)
        done = time.perf_counter()

        first_epoch_s = first_epoch_end - set_up
        epochs_s = trained - first_epoch_end
        epoch_s = epochs_s / (self.n_epochs_ - 1) if self.n_epochs_ > 1 else first_epoch_s
        self.fit_timings_ = {
            "prepare_s": prepared - started,
            "setup_s": set_up - prepared,
            "first_epoch_s": first_epoch_s,
            "epochs_s": epochs_s,
            "epoch_s": epoch_s,
            "samples_per_s": n_train / epoch_s if epoch_s > 0 else float("inf"),
            "finish_s": done - trained,
            "fit_s": done - started,
        }
        return self

    # --- predict --------------------------------------------------------------------------
    def _outputs(self, X: Any) -> np.ndarray:
        """The network's raw outputs (standardized units, or logits) for X, computed on the CPU."""
        check_is_fitted(self, "module_")
        X = _dense(validate_data(self, X, accept_sparse=True, dtype=(np.float64, np.float32), reset=False))
        standardized = ((X - self.x_mean_) / self.x_scale_).astype(np.float32)
        chunks = []
        with torch.no_grad():
            for start in range(0, standardized.shape[0], PREDICT_CHUNK_ROWS):
                part = torch.from_numpy(standardized[start : start + PREDICT_CHUNK_ROWS])
                chunks.append(self.module_(part).numpy())
        if not chunks:
            return np.zeros((0, self.module_[-1].out_features), dtype=np.float32)
        return np.concatenate(chunks)

    def explainable_module(self) -> nn.Module:
        """For SHAP: an eval-mode CPU float32 network from the estimator's inputs to its output.

        The input standardization is folded into the first Linear layer and, for regression, the
        target's back-transform into the last, so the module holds only Linear, ReLU (and Softmax
        for classifiers): layers shap's DeepExplainer handles, with attributions on the inputs
        this estimator receives. Regression gives predictions (n, 1) in target units;
        classification gives class probabilities (n, n_classes).
        """
        check_is_fitted(self, "module_")
        layers = [copy.deepcopy(layer) for layer in self.module_]
        first, last = layers[0], layers[-1]
        with torch.no_grad():
            weight = first.weight.double()
            inv_scale = torch.from_numpy(1.0 / self.x_scale_)
            shift = torch.from_numpy(self.x_mean_ / self.x_scale_)
            first.bias.copy_((first.bias.double() - weight @ shift).float())
            first.weight.copy_((weight * inv_scale).float())
            if not self._is_classifier():
                last.weight.mul_(float(self.y_scale_))
                last.bias.copy_((last.bias.double() * self.y_scale_ + self.y_mean_).float())
        if self._is_classifier():
            layers.append(nn.Softmax(dim=1))
        module = nn.Sequential(*layers).float().eval()
        for p in module.parameters():
            p.requires_grad_(False)
        return module

    # --- pickling -------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        module = state.get("module_")
        if module is not None and any(t.device.type != "cpu" for t in module.state_dict().values()):
            state["module_"] = copy.deepcopy(module).to("cpu")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if getattr(self, "module_", None) is not None:
            self.module_.eval()


class _TorchRegressor(RegressorMixin, _TorchEstimator):
    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        self.y_mean_ = float(y.mean())
        scale = float(y.std())
        self.y_scale_ = scale if np.isfinite(scale) and scale > 0 else 1.0
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32).reshape(-1, 1), 1

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the target's units, computed on the CPU."""
        return self._outputs(X)[:, 0].astype(np.float64) * self.y_scale_ + self.y_mean_


class _TorchClassifier(ClassifierMixin, _TorchEstimator):
    def _is_classifier(self) -> bool:
        return True

    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"The target has one class only ({self.classes_[0]!r}): a classifier needs at least two."
            )
        return np.searchsorted(self.classes_, y).astype(np.int64), len(self.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in classes_ order; each row sums to 1."""
        logits = self._outputs(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        outputs = self._outputs(X)  # checks the fit before classes_ is read
        return self.classes_[np.argmax(outputs, axis=1)]


class TorchLinearRegressor(_TorchRegressor):
    """One linear layer trained by gradient descent on the mean squared error (the material's model).

    Defaults (100 epochs of full-batch plain SGD at lr=0.1 on standardized data) reach the least
    squares solution: the error shrinks about 20% per epoch for one feature.
    """


class TorchLogisticClassifier(_TorchClassifier):
    """One linear layer with a softmax, trained on the cross-entropy (binary and multiclass)."""

    def __init__(
        self,
        *,
        epochs: int = 200,
        learning_rate: float = 0.5,
        optimizer: str = "sgd",
        batch_size: int | None = 0,
        weight_decay: float = 0.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__(
            epochs=epochs, learning_rate=learning_rate, optimizer=optimizer, batch_size=batch_size,
            weight_decay=weight_decay, early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, random_state=random_state, device=device,
        )  # fmt: skip


class TorchMLPRegressor(_TorchRegressor):
    """A multilayer perceptron (ReLU hidden layers) for regression.

    Early stopping and a small weight decay are on by default: full-batch Adam memorizes a few
    hundred rows within 200 epochs, and without the decay the validation loss turned up after two
    epochs on the loan sample, leaving a model that predicted the majority class only.
    """

    def __init__(
        self,
        hidden_layers: tuple[int, ...] | str = (64, 32),
        *,
        epochs: int = 200,
        learning_rate: float = 0.01,
        optimizer: str = "adam",
        batch_size: int | None = 0,
        weight_decay: float = 0.01,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__(
            epochs=epochs, learning_rate=learning_rate, optimizer=optimizer, batch_size=batch_size,
            weight_decay=weight_decay, early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, random_state=random_state, device=device,
        )  # fmt: skip
        self.hidden_layers = hidden_layers


class TorchMLPClassifier(_TorchClassifier):
    """A multilayer perceptron (ReLU hidden layers, softmax output) for binary and multiclass labels.

    Early stopping and a small weight decay are on by default: full-batch Adam memorizes a few
    hundred rows within 200 epochs, and without the decay the validation loss turned up after two
    epochs on the loan sample, leaving a model that predicted the majority class only.
    """

    def __init__(
        self,
        hidden_layers: tuple[int, ...] | str = (64, 32),
        *,
        epochs: int = 200,
        learning_rate: float = 0.01,
        optimizer: str = "adam",
        batch_size: int | None = 0,
        weight_decay: float = 0.01,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__(
            epochs=epochs, learning_rate=learning_rate, optimizer=optimizer, batch_size=batch_size,
            weight_decay=weight_decay, early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, random_state=random_state, device=device,
        )  # fmt: skip
        self.hidden_layers = hidden_layers
