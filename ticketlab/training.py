"""Training under a mask: many runs at once, the paper's protocol, nothing selected on test data.

``train_stacked`` trains K runs of the same architecture together: their parameters are stacked
along a leading axis; MLPs are evaluated with batched matrix products and a hand-written backward
pass, so a 2-core CPU does a few large matrix products instead of many small ones (other models go
through autograd, one run after another). Each run keeps its own θ0, mask and batch order, so
stacking changes speed, not results (``train_one`` is the plain one-network loop that tests
compare it with). On the CPU, an MLP run with at most half of its first layer left trains that
layer with ticketlab's sparse kernels (``_SparseFirstLayer``), which are faster there than dense
products (and evaluates it with them from 40% down).

Protocol (Frankle & Carbin, 2019): Adam, batch 60, a fixed budget of iterations, validation
(and test) loss and accuracy every ``eval_every`` iterations, early-stop iteration = argmin of
*validation* loss, test accuracy reported at that iteration. Pruned weights are exactly zero
after every optimizer step, and every call starts from a fresh optimizer.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from . import kernels
from .data import Splits
from .errors import ConfigError
from .masks import Mask
from .models import MLP

# Part of every run key (lottery's and course.experiments'): bump it whenever a change can alter any stored
# run's numbers or fields, so that runs of an older engine are never loaded beside new ones.
# tests/test_engine_version.py holds a tiny run's numbers for this version and fails when they
# change without a bump. 2: the training set's accuracy and loss at the last iteration are recorded.
# 3: the first layer's sparse kernels are ticketlab.kernels, for training below half of the layer
# and for evaluation below 40% (other kernels, another rounding).
ENGINE_VERSION = 3


@dataclass(frozen=True)
class TrainConfig:
    """How one training run goes; the paper's LeNet values are iterations=50_000, lr=1.2e-3."""

    iterations: int
    lr: float
    batch_size: int = 60
    eval_every: int = 100
    test_every: int | None = None  # None: with every validation; test at early stop is always exact
    weight_decay: float = 0.0

    def __post_init__(self):
        for field in ("iterations", "batch_size", "eval_every"):
            value = getattr(self, field)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{field} must be a positive integer, got {value!r}")
        if self.test_every is not None and (not isinstance(self.test_every, int) or self.test_every % self.eval_every):
            raise ConfigError(f"test_every must be a multiple of eval_every={self.eval_every}, got {self.test_every!r}")
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be positive, got {self.lr!r}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay!r}")

    def eval_points(self) -> list[int]:
        """Iterations at which validation is measured: 0, every ``eval_every``, and the last."""
        points = list(range(0, self.iterations, self.eval_every)) + [self.iterations]
        return points


@dataclass
class RunSpec:
    """One run to train: its starting weights (θ0 or a rewind point), mask and batch-order seed."""

    init: dict[str, torch.Tensor]
    mask: Mask
    data_seed: int


@dataclass
class RunResult:
    """What a run produced; ``curve`` has one row per evaluation point."""

    curve: pd.DataFrame
    early_stop_iteration: int
    test_acc_at_early_stop: float
    test_loss_at_early_stop: float
    final_test_acc: float
    final_train_acc: float  # on the whole training set at the last iteration (the paper's generalisation gap)
    final_train_loss: float
    final: dict[str, torch.Tensor]
    rewind: dict[str, torch.Tensor] | None = None
    squared_updates: dict[str, torch.Tensor] | None = None  # Σ (Δw)² over steps, for Karnin's sensitivity

    def summary(self) -> dict:
        return {
            "early_stop_iteration": self.early_stop_iteration,
            "test_acc_at_early_stop": self.test_acc_at_early_stop,
            "test_loss_at_early_stop": self.test_loss_at_early_stop,
            "final_test_acc": self.final_test_acc,
            "final_train_acc": self.final_train_acc,
            "final_train_loss": self.final_train_loss,
            "val_loss_min": float(self.curve["val_loss"].min()),
        }


def default_device() -> torch.device:
    """CUDA or Apple MPS when present, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


ALIGN = 16  # floats in the widest CPU vector (AVX-512): see _aligned


def _aligned(stacked: torch.Tensor, fill: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``stacked`` (K, ...) copied into rows padded to a multiple of ``ALIGN`` values: (flat, view).

    Why: element-wise kernels (the fused Adam step) run whole vectors and finish a tensor's last
    few values with scalar code, which can round differently. Unpadded, which
    values of run k fall in that tail depends on how many runs share the stack, so the same run
    gave different numbers beside different neighbours. Padded, every run's values sit at the same
    vector positions whatever K is; the padding ``fill`` is never read by the model.
    """
    k, n = len(stacked), stacked[0].numel()
    flat = torch.full((k, -(-n // ALIGN) * ALIGN), fill, dtype=stacked.dtype, device=stacked.device)
    flat[:, :n] = stacked.reshape(k, n)
    return flat, flat[:, :n].view(stacked.shape)


# At most this share of an MLP's first layer left: its survivors train (and, separately, are
# evaluated) with ``kernels`` instead of dense products. The crossovers where the sparse kernels
# start to win, measured on the course machine (docs/engine.md, ``python -m ticketlab bench``
# prints this machine's). Constants, not measured at run time: which kernels a run uses changes
# its rounding, so the choice must not depend on how busy the machine happens to be.
SPARSE_DENSITY = {"train": 0.5, "evaluate": 0.4}


@dataclass(frozen=True)
class _Path:
    """Which kernels a run's first layer uses: sparse for training, and for evaluation."""

    train: bool = False
    evaluate: bool = False


def sparse_enough(remaining: int, weights: int, purpose: str = "train") -> bool:
    """Whether a first layer with ``remaining`` of its ``weights`` left uses the sparse kernels for
    ``purpose`` ("train" or "evaluate")."""
    return remaining <= SPARSE_DENSITY[purpose] * weights


def _path_of(model: nn.Module, run: RunSpec, device: torch.device) -> _Path:
    """The kernels of ``run``'s first layer: sparse only for an MLP on the CPU whose first layer is
    ``sparse_enough``. Decided by the run alone, so that its numbers never depend on the runs
    stacked beside it."""
    if not isinstance(model, MLP) or device.type != "cpu":
        return _Path()
    first = next(n for n, _ in model.named_parameters() if n.endswith(".weight"))
    mask = run.mask.get(first)
    if mask is None:
        return _Path()
    remaining = int(torch.count_nonzero(mask))
    return _Path(*(sparse_enough(remaining, mask.numel(), purpose) for purpose in ("train", "evaluate")))


class _SparseFirstLayer:
    """The first layer's surviving weights of K runs in CSR order, trained and evaluated with
    ``kernels.spmm`` and ``kernels.sddmm``: a cost proportional to what survives, which beats dense
    products and Adam over every weight below ``SPARSE_DENSITY`` of LeNet's first layer
    (measured: docs/engine.md).

    ``values`` is both the CSR values and what Adam steps. Each run's stretch of it is padded to a
    multiple of ``ALIGN`` with explicit entries at pruned positions that hold exactly 0 and never
    move (their second moment starts at +inf, as in ``_Adam``): so every run's values sit at the
    same vector positions whatever K is, and no copy is made between the layer and the optimizer.
    The stack's dense weights are brought up to date by ``sync`` whenever something reads them
    (snapshots, early stopping). The summation order differs from dense products', so a run rounds
    slightly differently here than densely; it never depends on the runs beside it.
    """

    def __init__(self, dense: torch.Tensor, mask: torch.Tensor):
        k, out, inp = dense.shape
        self.shape, keep = (k, out, inp), mask.bool()
        pattern = keep.clone()
        for run, count in enumerate(keep.sum((1, 2)).tolist()):
            padding = (~keep[run]).flatten().nonzero().squeeze(1)[: -count % ALIGN]  # the first pruned positions
            pattern[run].view(-1)[padding] = True
        self.pattern = pattern
        self.crow = torch.cat([torch.zeros(1, dtype=torch.long), pattern.sum(2).flatten().cumsum(0)])
        self.col = pattern.nonzero()[:, 2].to(torch.int32)  # CSR order: run, row, column
        self.values = dense[pattern].contiguous()
        self.grads = torch.zeros_like(self.values)
        self.adam_mask = keep[pattern].float()  # 0 at the padding entries: Adam never moves them
        self.xt = self.gt = None

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """(K, B, out) pre-activations of x (K, B, in); keeps xᵀ for ``backward``."""
        k, out, inp = self.shape
        self.batch = x.shape[1]
        if self.xt is None or self.xt.shape[1] != kernels.tiles(self.batch):  # zero padding, written once
            self.xt = torch.zeros(k, kernels.tiles(self.batch), inp, kernels.TILE)
            self.gt = torch.zeros(k, kernels.tiles(self.batch), out, kernels.TILE)
        kernels.tiled(x.transpose(1, 2), self.xt)
        h = kernels.spmm(self.crow, self.col, self.values, bias, self.xt)
        return h[:, :, : self.batch].transpose(1, 2).contiguous()

    def backward(self, grad: torch.Tensor) -> None:
        """Weight gradient at the CSR entries only, from the output gradient (K, B, out)."""
        kernels.tiled(grad.transpose(1, 2), self.gt)
        kernels.sddmm(self.crow, self.col, self.gt, self.xt, self.grads)

    def forward_shared(self, values: torch.Tensor, bias: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Class-major (K, out, n) pre-activations of every run on the same n inputs (for evaluation)."""
        n = len(x)
        return kernels.spmm(self.crow, self.col, values, bias, kernels.tiled(x.flatten(1).t().unsqueeze(0)))[:, :, :n]

    def sync(self, dense: torch.Tensor) -> None:
        """Write the CSR values into the stack's dense weights (pruned ones and padding stay 0)."""
        with torch.no_grad():
            dense.masked_scatter_(self.pattern, self.values)


class _Stack:
    """K runs of one architecture as stacked parameters, trained and evaluated in one pass.

    MLPs (LeNet, the toy MLP) use batched matrix products with a hand-written backward pass;
    other models go through ``functional_call`` and autograd, one run after another. Each
    parameter lives in padded rows (``flat``, what Adam steps) seen through a (K, ...) view
    (``params``, what the model uses), so that a run's numbers do not depend on its neighbours.
    """

    def __init__(self, model: nn.Module, runs: list[RunSpec], device: torch.device, path: _Path = _Path()):
        for run in runs:
            run.mask.check_matches(run.init)
        self.model = model.to(device)
        names = [n for n, _ in model.named_parameters()]
        self.layers = [n[: -len(".weight")] for n in names if n.endswith(".weight")] if isinstance(model, MLP) else None
        stacked = {n: torch.stack([r.init[n] for r in runs]).to(device) for n in names}
        self.flat, self.params = {}, {}
        self.flat_grads, self.grads = {}, {}
        for n, p in stacked.items():
            self.flat[n], self.params[n] = _aligned(p)
            self.flat_grads[n], self.grads[n] = _aligned(torch.zeros_like(p))
        if self.layers is None:
            for p in self.params.values():
                p.requires_grad_()
        self.masks = {n: torch.stack([r.mask[n] for r in runs]).to(device) for n in runs[0].mask}
        self.flat_masks = {n: _aligned(self.masks[n], fill=1.0)[0] if n in self.masks else None for n in names}
        self.enforce_masks()
        self.first = f"{self.layers[0]}.weight" if self.layers else None
        needed = path.train or path.evaluate
        self.sparse = _SparseFirstLayer(self.params[self.first], self.masks[self.first]) if needed else None
        self.sparse_training, self.sparse_evaluation = path.train, path.evaluate

    def optimized(self) -> tuple[list, list, list]:
        """What Adam steps: (parameters, gradients, masks), the sparse first layer's survivors in
        place of its dense weights."""
        params, grads, masks = list(self.flat.values()), list(self.flat_grads.values()), list(self.flat_masks.values())
        if self.sparse_training:
            i = list(self.flat).index(self.first)
            params[i], grads[i], masks[i] = self.sparse.values, self.sparse.grads, self.sparse.adam_mask
        return params, grads, masks

    def sync(self) -> None:
        """Bring the dense weights up to date before anything reads them (a no-op when dense)."""
        if self.sparse_training:
            self.sparse.sync(self.params[self.first])

    def _forward_each(self, params, x: torch.Tensor, shared: bool) -> torch.Tensor:
        """Logits (K, B, C) of each run on its own inputs x[k] (or all on the same x), one run at a
        time: ``torch.func.vmap`` would turn K convolutions into one grouped convolution whose
        rounding depends on K, so a run's numbers would depend on its neighbours."""
        k = next(iter(params.values())).shape[0]
        return torch.stack(
            [
                functional_call(self.model, {n: p[i] for n, p in params.items()}, (x if shared else x[i],))
                for i in range(k)
            ]
        )

    def gradients(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fill ``self.grads`` with the gradient of Σ_k mean cross-entropy of run k on its batch
        (x: (K, B, ...), y: (K, B)) and return the logits (K, B, C)."""
        if self.layers is None:
            logits = self._forward_each(self.params, x, shared=False)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten()) * len(x)  # = sum of per-run means
            grads = torch.autograd.grad(loss, list(self.params.values()))
            for g, name in zip(grads, self.params):
                self.grads[name].copy_(g)
            return logits.detach()
        return self._mlp_gradients(x.flatten(2), y)

    def _mlp_gradients(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Forward and backward of the stacked MLP by hand.

        Autograd's generic rules cost a quarter of a LeNet step here: its linear backward copies
        each weight gradient into W's layout, computes the first layer's input gradient that
        nobody needs, and its ReLU and loss rules allocate more than they must. The maths is
        the same (tests compare it with ``train_one``, the plain autograd loop).
        """
        activations = [x]
        for i, layer in enumerate(self.layers):
            if i == 0 and self.sparse_training:
                h = self.sparse.forward(x, self.params[f"{layer}.bias"])
            else:
                h = torch.baddbmm(
                    self.params[f"{layer}.bias"].unsqueeze(1),
                    activations[-1],
                    self.params[f"{layer}.weight"].transpose(1, 2),
                )
            activations.append(h.relu_() if i < len(self.layers) - 1 else h)
        logits = activations.pop()
        grad = torch.softmax(logits, -1)  # d(mean CE)/d(logits) = (softmax - one_hot) / B
        grad.scatter_(-1, y.unsqueeze(-1), -1.0, reduce="add")
        grad.mul_(1.0 / y.shape[1])
        for i in reversed(range(len(self.layers))):
            layer, inputs = self.layers[i], activations[i]
            if i == 0 and self.sparse_training:
                self.sparse.backward(grad)
            else:
                torch.bmm(grad.transpose(1, 2), inputs, out=self.grads[f"{layer}.weight"])
            torch.sum(grad, 1, out=self.grads[f"{layer}.bias"])
            if i > 0:
                grad = torch.ops.aten.threshold_backward(torch.bmm(grad, self.params[f"{layer}.weight"]), inputs, 0)
        return logits

    def forward_shared(self, params, x: torch.Tensor, first_values: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (K, C, n), class-major, of every run on the same inputs x (n, ...); for evaluation.

        MLPs: the K first layers are one large product W (K*out, inp) @ x.T (inp, n), then each
        layer keeps the (K, features, n) layout, so no large activation is ever transposed or
        copied, and cross-entropy reads the class-major logits as they are (a quarter faster
        than the sample-major layout for the paper's 15 runs on 1,000 images at a time). A sparse
        stack's first layer is its CSR ``first_values`` instead.
        """
        if self.layers is None:
            return self._forward_each(params, x, shared=True).transpose(1, 2)
        first = self.layers[0]
        weight, bias = params[f"{first}.weight"], params[f"{first}.bias"]
        k, out, inp = weight.shape
        if first_values is not None:
            h = self.sparse.forward_shared(first_values, bias, x)
        else:
            h = torch.addmm(bias.reshape(-1, 1), weight.reshape(k * out, inp), x.flatten(1).t()).view(k, out, len(x))
        for layer in self.layers[1:]:
            # one product per run: a batched product chose another kernel for one run than for
            # several (one ulp apart), so a run's numbers depended on its neighbours
            weight, bias, h = params[f"{layer}.weight"], params[f"{layer}.bias"], h.relu_()
            h = torch.stack([torch.addmm(bias[i].unsqueeze(1), weight[i], h[i]) for i in range(k)])
        return h

    def enforce_masks(self) -> None:
        """Zero every pruned weight; from then on ``_Adam`` keeps them at exactly 0 after every step."""
        with torch.no_grad():
            torch._foreach_mul_([self.params[n] for n in self.masks], list(self.masks.values()))

    def snapshot(self, k: int) -> dict[str, torch.Tensor]:
        return {n: p[k].detach().cpu().clone() for n, p in self.params.items()}

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, params=None, chunk: int = 1000):
        """Mean loss and accuracy of each run on (x, y), in large shared-input chunks (1,000
        images: the paper level's 15 runs keep each chunk's activations in the CPU's cache)."""
        first_values = None
        if self.sparse_evaluation:  # the live CSR values, or a snapshot's (or dense-trained weights') once per call
            live = params is None and self.sparse_training
            first_values = (
                self.sparse.values if live else (params or self.params)[self.first].detach()[self.sparse.pattern]
            )
        params = params if params is not None else {n: p.detach() for n, p in self.params.items()}
        k = next(iter(params.values())).shape[0]
        loss = torch.zeros(k, device=x.device)
        correct = torch.zeros(k, device=x.device)
        for start in range(0, len(x), chunk):
            xb, yb = x[start : start + chunk], y[start : start + chunk]
            logits = self.forward_shared(params, xb, first_values)  # (K, C, n)
            loss += F.cross_entropy(logits, yb.expand(k, -1), reduction="none").sum(1)
            correct += (logits.argmax(1) == yb).sum(1)
        return (loss / len(x)).cpu(), (correct / len(x)).cpu()


BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults, the paper's Adam
_FALLBACK_WARNED: set[str] = set()  # why the public-op Adam was used, each said once per process


def _fused_adam_failure(device: torch.device, dtype: torch.dtype, lr: float, weight_decay: float) -> str | None:
    """Why ``torch._fused_adam_`` (private) cannot step tensors of this device and dtype, or None.

    Probed on a few scratch values, with the real call's arguments, so that a kernel this torch
    build lacks, or one that refuses the device or dtype, leaves no half-updated state behind.
    """
    fused = getattr(torch, "_fused_adam_", None)
    if fused is None:
        return f"torch {torch.__version__} has no torch._fused_adam_"
    p = torch.zeros(ALIGN, dtype=dtype, device=device)
    try:
        fused(
            [p],
            [torch.ones_like(p)],
            [torch.zeros_like(p)],
            [torch.zeros_like(p)],
            [],
            [torch.ones((), dtype=torch.float32, device=device)],
            lr=lr,
            beta1=BETA1,
            beta2=BETA2,
            weight_decay=weight_decay,
            eps=EPS,
            amsgrad=False,
            maximize=False,
        )
    except (NotImplementedError, RuntimeError) as error:
        message = (str(error).strip().splitlines() or [""])[0]
        return f"torch._fused_adam_ refused {device.type} {dtype} ({type(error).__name__}: {message})"
    return None


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    """√x rounded like IEEE's sqrt, as the fused kernels compute it (√+inf = +inf).

    torch.sqrt on float32 CPU tensors is one ulp off for about 15% of values on this machine's
    build; through float64 (53 bits, enough that rounding twice is exact for a square root) it is
    correctly rounded, and the public Adam below gives the fused kernel's numbers bit for bit here.
    Apple's MPS has no float64 and keeps torch.sqrt.
    """
    if x.dtype == torch.float32 and x.device.type != "mps":
        return x.double().sqrt_().float()
    return x.sqrt()


class _Adam:
    """Adam over the stacked parameters, with fresh state, that never moves a pruned weight.

    The mask is built into the state: a pruned weight starts at exactly 0 and its second
    moment at +inf, so each step moves it by lr·m/(√inf + eps) = 0, weight decay adds
    wd·0 = 0, and it stays exactly 0 — the same invariant as multiplying by the mask after
    every step, without a pass over every weight and mask each step (a tenth of a LeNet step).
    The fused kernel is called directly: ``torch.optim.Adam(fused=True)`` runs the same kernel
    but its Python bookkeeping costs a large share of a LeNet step (docs/engine.md). Tests compare both.

    ``torch._fused_adam_`` is private: where this torch build lacks it, or it refuses the
    parameters' device or dtype, ``_public_step`` does the same update with public tensor ops
    (an order of magnitude slower: docs/engine.md) and a one-line warning says so.
    """

    def __init__(
        self,
        params: list[torch.Tensor],
        grads: list[torch.Tensor],
        masks: list[torch.Tensor | None],
        config: TrainConfig,
    ):
        self.params = [p.detach() for p in params]
        self.grads = grads
        self.exp_avgs = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sqs = [
            torch.zeros_like(p) if m is None else torch.zeros_like(p).masked_fill_(m == 0, math.inf)
            for p, m in zip(self.params, masks)
        ]
        # one step counter that every parameter's entry points to (the fused kernel only reads it):
        # ``_foreach_add_`` over one counter per parameter cost 85 us a step, 4.5% of a one-run step
        self.step_count = torch.zeros((), dtype=torch.float32, device=self.params[0].device)
        self.steps = [self.step_count] * len(self.params)
        self.steps_taken = 0  # the same count in Python, for the public-op step
        self.lr, self.weight_decay = config.lr, config.weight_decay
        kinds = dict.fromkeys((p.device, p.dtype) for p in self.params)
        failure = next(filter(None, (_fused_adam_failure(*kind, self.lr, self.weight_decay) for kind in kinds)), None)
        self.fused = failure is None
        if failure and failure not in _FALLBACK_WARNED:
            _FALLBACK_WARNED.add(failure)
            warnings.warn(
                f"ticketlab: {failure}; training uses Adam written with public torch ops instead "
                "(the same update, slower)",
                RuntimeWarning,
                stacklevel=2,
            )

    def step(self) -> None:
        self.step_count.add_(1)
        self.steps_taken += 1
        if not self.fused:
            self._public_step()
            return
        torch._fused_adam_(
            self.params,
            self.grads,
            self.exp_avgs,
            self.exp_avg_sqs,
            [],
            self.steps,
            lr=self.lr,
            beta1=BETA1,
            beta2=BETA2,
            weight_decay=self.weight_decay,
            eps=EPS,
            amsgrad=False,
            maximize=False,
        )

    @torch.no_grad()
    def _public_step(self) -> None:
        """The fused kernel's update (amsgrad and maximize off, L2 weight decay added to the
        gradient as torch.optim.Adam does), in its order of operations, with public ops.

        At a pruned weight (w = 0, v = +inf, g finite): g + wd·0 = g; m stays finite;
        v = inf·β2 + (1-β2)·g² = +inf; the denominator √inf / √(1-β2^t) + eps = +inf; and the
        update -lr/(1-β1^t)·m / inf = ±0 leaves w at exactly 0. No step multiplies 0 by inf or
        divides inf by inf, so no NaN can appear (unless a gradient is itself inf or NaN, which
        the fused kernel would spread the same way).
        """
        bias_correction1 = 1 - BETA1**self.steps_taken
        bias_correction2_sqrt = math.sqrt(1 - BETA2**self.steps_taken)
        step_size = self.lr / bias_correction1
        for param, grad, exp_avg, exp_avg_sq in zip(self.params, self.grads, self.exp_avgs, self.exp_avg_sqs):
            if self.weight_decay != 0:
                grad = grad.add(param, alpha=self.weight_decay)  # not in place: the gradient buffer is the stack's
            exp_avg.lerp_(grad, 1 - BETA1)
            exp_avg_sq.mul_(BETA2).addcmul_(grad, grad, value=1 - BETA2)
            denom = _sqrt(exp_avg_sq).div_(bias_correction2_sqrt).add_(EPS)
            param.add_(exp_avg.mul(-step_size).div_(denom))


class _BatchOrder:
    """Per-run batch indices: a fresh seeded permutation of the training set every epoch."""

    def __init__(self, n: int, batch_size: int, seeds: list[int], device: torch.device):
        if batch_size > n:
            raise ConfigError(f"batch size {batch_size} is larger than the {n:,} training examples; use at most {n}")
        self.n, self.batch_size, self.device = n, batch_size, device
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.per_epoch = n // batch_size
        self.position = self.per_epoch  # forces a shuffle on the first call

    def next(self) -> torch.Tensor:
        if self.position == self.per_epoch:
            perms = [torch.randperm(self.n, generator=g)[: self.per_epoch * self.batch_size] for g in self.generators]
            # (batch, run, sample): each step's indices are one contiguous block, flattened without a copy
            epoch = torch.stack(perms).view(len(perms), self.per_epoch, self.batch_size).transpose(0, 1)
            self.epoch = epoch.contiguous().to(self.device)
            self.position = 0
        batch = self.epoch[self.position]
        self.position += 1
        return batch  # (K, batch_size)


def train_stacked(
    model: nn.Module,
    runs: list[RunSpec],
    data: Splits,
    config: TrainConfig,
    rewind_iteration: int | None = None,
    device=None,
    progress: bool = True,
    desc: str = "training",
    track_updates: bool = False,
) -> list[RunResult]:
    """Train every run in ``runs`` (same architecture) together and return one result per run.

    ``rewind_iteration`` keeps each run's weights at that iteration (for late resetting);
    ``track_updates`` accumulates Σ(Δw)² per weight (Karnin's sensitivity needs it).
    """
    if not runs:
        raise ConfigError("no runs to train: give at least one RunSpec")
    if rewind_iteration is not None and not 0 <= rewind_iteration <= config.iterations:
        raise ConfigError(f"rewind iteration {rewind_iteration} is beyond the training length 0..{config.iterations}")
    device = torch.device(device) if device is not None else default_device()
    paths = [_Path() if track_updates else _path_of(model, run, device) for run in runs]
    if len(set(paths)) > 1:  # each group in its own stack, so that no run's kernels depend on its neighbours
        groups = [[k for k in range(len(runs)) if paths[k] == path] for path in dict.fromkeys(paths)]
        results = {}
        for group in groups:
            trained = train_stacked(
                model, [runs[k] for k in group], data, config, rewind_iteration, device, progress, desc, track_updates
            )
            results.update(zip(group, trained))
        return [results[k] for k in range(len(runs))]
    stack = _Stack(model, runs, device, paths[0])
    x_train, y_train = data.x_train.to(device), data.y_train.to(device)
    splits = {
        "val": (data.x_val.to(device), data.y_val.to(device)),
        "test": (data.x_test.to(device), data.y_test.to(device)),
    }
    order = _BatchOrder(len(x_train), config.batch_size, [r.data_seed for r in runs], device)
    optimizer = _Adam(*stack.optimized(), config)
    tracker = _EarlyStop(stack, len(runs))
    rewinds = [stack.snapshot(k) for k in range(len(runs))] if rewind_iteration == 0 else None
    rows = []
    test_every = config.test_every or config.eval_every
    updates = _UpdateTracker(stack) if track_updates else None
    rows += _evaluate_point(stack, splits, 0, True, tracker)
    bar = tqdm(range(1, config.iterations + 1), desc=desc, disable=not progress, leave=False, mininterval=0.5)
    for it in bar:
        idx = order.next()
        flat = idx.view(-1)
        xb = x_train.index_select(0, flat).view(*idx.shape, *x_train.shape[1:])  # no advanced-indexing overhead
        yb = y_train.index_select(0, flat).view(idx.shape)
        stack.gradients(xb, yb)
        if updates:
            updates.before_step()
        optimizer.step()  # keeps every pruned weight at exactly 0 (see _Adam)
        if updates:
            updates.after_step()
        evaluated = it % config.eval_every == 0 or it == config.iterations
        if it == rewind_iteration or evaluated:
            stack.sync()
        if it == rewind_iteration:
            rewinds = [stack.snapshot(k) for k in range(len(runs))]
        if evaluated:
            rows += _evaluate_point(stack, splits, it, it % test_every == 0 or it == config.iterations, tracker)
            bar.set_postfix(val_acc=f"{rows[-1]['val_acc']:.4f}", refresh=False)
    splits["train"] = (x_train, y_train)
    _check_masks_held(stack)
    results = _results(stack, splits, rows, tracker, rewinds)
    for k, result in enumerate(results):
        result.squared_updates = updates.run(k) if updates else None
    return results


def _check_masks_held(stack: _Stack) -> None:
    """Fail loudly if any pruned weight ended training away from 0.

    ``_Adam`` keeps the mask through its state (a pruned weight's second moment is +inf), not by
    multiplying after each step; another optimiser, or a change to this one, could silently train
    pruned weights. This one pass per training call turns that into an error instead of a result.
    """
    with torch.no_grad():
        for name, mask in stack.masks.items():
            moved = int(torch.count_nonzero(stack.params[name].detach() * (mask == 0)))
            if moved:
                raise RuntimeError(
                    f"{moved} pruned weights of {name} are not 0 after training: the optimiser no longer keeps the "
                    f"mask (see training._Adam); nothing was stored"
                )


class _UpdateTracker:
    """Accumulates the squared change of every prunable weight at every step."""

    def __init__(self, stack: _Stack):
        self.names = list(stack.masks)
        self.params = [stack.params[n].detach() for n in self.names]
        self.total = [torch.zeros_like(p) for p in self.params]
        self.change = [torch.zeros_like(p) for p in self.params]  # reused every step: no allocation

    def before_step(self) -> None:
        torch._foreach_copy_(self.change, self.params)

    def after_step(self) -> None:
        torch._foreach_sub_(self.change, self.params)  # w_before - w_after: its square is (Δw)²
        torch._foreach_mul_(self.change, self.change)
        torch._foreach_add_(self.total, self.change)

    def run(self, k: int) -> dict[str, torch.Tensor]:
        return {n: t[k].cpu().clone() for n, t in zip(self.names, self.total)}


class _EarlyStop:
    """Tracks each run's minimum validation loss and keeps the weights at that iteration."""

    def __init__(self, stack: _Stack, k: int):
        self.stack = stack
        self.best_loss = torch.full((k,), float("inf"))
        self.best_iteration = torch.zeros(k, dtype=torch.long)
        self.best_params = {n: p.detach().clone() for n, p in stack.params.items()}

    def update(self, iteration: int, val_loss: torch.Tensor) -> None:
        improved = val_loss < self.best_loss
        if improved.any():
            self.best_loss = torch.where(improved, val_loss, self.best_loss)
            self.best_iteration[improved] = iteration
            sel = improved.to(next(iter(self.best_params.values())).device)
            with torch.no_grad():
                for n, p in self.stack.params.items():
                    self.best_params[n][sel] = p.detach()[sel]


def _evaluate_point(stack, splits, iteration, with_test, tracker) -> list[dict]:
    val_loss, val_acc = stack.evaluate(*splits["val"])
    tracker.update(iteration, val_loss)
    test_loss, test_acc = stack.evaluate(*splits["test"]) if with_test else (None, None)
    nan = float("nan")
    return [
        {
            "run": k,
            "iteration": iteration,
            "val_loss": val_loss[k].item(),
            "val_acc": val_acc[k].item(),
            "test_loss": test_loss[k].item() if with_test else nan,
            "test_acc": test_acc[k].item() if with_test else nan,
        }
        for k in range(len(val_loss))
    ]


def _results(stack, splits, rows, tracker, rewinds) -> list[RunResult]:
    """One result per run; the training set is scored once, with the last iteration's weights
    (Frankle & Carbin compare test with training accuracy at the end of training)."""
    es_loss, es_acc = stack.evaluate(*splits["test"], params=tracker.best_params)
    train_loss, train_acc = stack.evaluate(*splits["train"])
    curves = pd.DataFrame(rows)
    results = []
    for k in range(len(es_loss)):
        curve = curves[curves.run == k].drop(columns="run").reset_index(drop=True)
        results.append(
            RunResult(
                curve=curve,
                early_stop_iteration=int(tracker.best_iteration[k]),
                test_acc_at_early_stop=float(es_acc[k]),
                test_loss_at_early_stop=float(es_loss[k]),
                final_test_acc=float(curve["test_acc"].iloc[-1]),
                final_train_acc=float(train_acc[k]),
                final_train_loss=float(train_loss[k]),
                final=stack.snapshot(k),
                rewind=rewinds[k] if rewinds else None,
            )
        )
    return results


def train_one(
    model: nn.Module, mask: Mask, data: Splits, config: TrainConfig, data_seed: int, progress: bool = False
) -> RunResult:
    """The textbook loop for a single network (a reference for tests of ``train_stacked``).

    Same protocol and the same batch order as ``train_stacked`` for the same ``data_seed``.
    """
    mask.check_matches(model)
    mask.apply_(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    order = _BatchOrder(len(data.x_train), config.batch_size, [data_seed], torch.device("cpu"))
    rows = [_evaluate_model(model, data, 0)]
    for it in tqdm(range(1, config.iterations + 1), disable=not progress, leave=False):
        idx = order.next()[0]
        loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mask.apply_(model)
        if it % config.eval_every == 0 or it == config.iterations:
            rows.append(_evaluate_model(model, data, it))
    curve = pd.DataFrame(rows)
    best = int(curve["val_loss"].idxmin())
    train_loss, train_acc = evaluate(model, dict(model.named_parameters()), data.x_train, data.y_train)
    return RunResult(
        curve=curve,
        early_stop_iteration=int(curve["iteration"][best]),
        test_acc_at_early_stop=float(curve["test_acc"][best]),
        test_loss_at_early_stop=float(curve["test_loss"][best]),
        final_test_acc=float(curve["test_acc"].iloc[-1]),
        final_train_acc=train_acc,
        final_train_loss=train_loss,
        final={n: p.detach().clone() for n, p in model.named_parameters()},
    )


@torch.no_grad()
def _evaluate_model(model: nn.Module, data: Splits, iteration: int) -> dict:
    row = {"iteration": iteration}
    for split in ("val", "test"):
        logits = model(getattr(data, f"x_{split}"))
        y = getattr(data, f"y_{split}")
        row[f"{split}_loss"] = F.cross_entropy(logits, y).item()
        row[f"{split}_acc"] = (logits.argmax(1) == y).float().mean().item()
    return row


@torch.no_grad()
def evaluate(
    model: nn.Module, weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, mask: Mask | None = None
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` with ``weights`` (times ``mask``) on (x, y)."""
    params = {n: (w * mask[n] if mask is not None and n in mask else w) for n, w in weights.items()}
    logits = functional_call(model, params, (x,))
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()
