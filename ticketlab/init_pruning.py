"""Pruning at initialisation: SNIP, GraSP and SynFlow, and the ablation that questions them.

These methods choose a mask from θ0 before any training, where a lottery ticket needs training
(IMP). Each ``*_scores`` function returns, like ``pruning.scores_for``, one tensor per prunable
weight (``*.weight``; biases are never scored nor pruned), and **a higher score always means keep**.
Magnitude at initialisation and random pruning are ``pruning.scores_for("init-magnitude", ...)`` and
``pruning.prune_random``.

Scores become a mask in two ways:

- ``mask_like(scores, reference)``: the same number of survivors in every layer as ``reference``
  (e.g. an IMP ticket), so that methods are compared at equal layer-wise sparsity;
- ``mask_global(scores, density)``: all layers ranked together, so the method itself chooses the
  layer-wise densities, as SNIP, GraSP and SynFlow were published.
  (``pruning.prune_to_density(weights, density, scores)`` keeps the same fraction in every layer.)

``shuffle_within_layers`` is the sanity check of Frankle, Dziugaite, Roy & Carbin, "Pruning Neural
Networks at Initialization: Why Are We Missing the Mark?" (ICLR 2021): a method whose masks keep
their accuracy when shuffled within each layer has found layer-wise densities, not which weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from .data import Splits
from .errors import ConfigError
from .masks import Mask
from .models import prunable_names
from .pruning import prune_random

GRASP_TEMPERATURE = 200.0  # the logits' divisor in the GraSP authors' code
SYNFLOW_ROUNDS = 100  # Tanaka et al.'s default number of score-and-prune rounds


def sample_batch(data: Splits, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` training examples drawn without replacement with ``seed``: the minibatch that SNIP and
    GraSP score on (never validation or test data)."""
    if not isinstance(size, int) or not 0 < size <= len(data.y_train):
        raise ConfigError(f"batch size {size!r} must be a whole number from 1 to {len(data.y_train)}")
    index = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(seed))[:size]
    return data.x_train[index], data.y_train[index]


def snip_scores(
    model: nn.Module, weights: dict, x: torch.Tensor, y: torch.Tensor, mask: Mask | None = None, loss=F.cross_entropy
) -> dict[str, torch.Tensor]:
    """SNIP's connection sensitivity |g ⊙ θ| (Lee, Ajanthan & Torr, "SNIP: Single-shot Network Pruning
    based on Connection Sensitivity", ICLR 2019), g = ∂L/∂θ of the mean ``loss`` on (x, y).

    |∂L/∂c_j| at c = 1 for a mask variable c_j on weight j, i.e. how much the loss would change if
    the connection were removed, to first order. SNIP divides by the sum of all scores, which does
    not change the ranking and is left out. Pruned weights (``mask``) score 0.
    """
    params, names = _differentiable(model, weights, mask)
    value = loss(functional_call(model, params, (x,)), y)
    grads = torch.autograd.grad(value, [params[n] for n in names])
    return {n: (g * params[n]).abs().detach() for n, g in zip(names, grads)}


def grasp_scores(
    model: nn.Module,
    weights: dict,
    x: torch.Tensor,
    y: torch.Tensor,
    mask: Mask | None = None,
    temperature: float = GRASP_TEMPERATURE,
    loss=F.cross_entropy,
) -> dict[str, torch.Tensor]:
    """GraSP (Wang, Zhang & Grosse, "Picking Winning Tickets Before Training by Preserving Gradient
    Flow", ICLR 2020), returned as θ ⊙ (H g): higher means keep.

    Sign convention. The paper scores S(−θ) = −θ ⊙ (H g), the first-order change of the gradient
    norm gᵀg when a weight is removed (×½), and removes the weights with the *highest* S: their
    removal reduces gradient flow least (or raises it). So it keeps the lowest S. This function
    returns −S = θ ⊙ (H g), so that, as for every score here, keeping the highest keeps exactly
    what GraSP keeps; negate it to get the paper's S.

    g = ∂L/∂θ and H = ∂²L/∂θ² are taken over the prunable weights only (not the biases), H g by
    double backpropagation (∂(gᵀ·stop_gradient(g))/∂θ), for L the mean ``loss`` of logits divided by
    ``temperature``: the authors' code uses T = 200 (the default); T = 1 is the plain Hessian.
    """
    if not temperature > 0:
        raise ConfigError(f"temperature must be positive, got {temperature!r}")
    params, names = _differentiable(model, weights, mask)
    tensors = [params[n] for n in names]
    value = loss(functional_call(model, params, (x,)) / temperature, y)
    grads = torch.autograd.grad(value, tensors, create_graph=True)
    flow = sum((g * g.detach()).sum() for g in grads)
    hessian_grad = torch.autograd.grad(flow, tensors, allow_unused=True)
    return {
        n: (params[n] * (torch.zeros_like(params[n]) if h is None else h)).detach() for n, h in zip(names, hessian_grad)
    }


def synflow_scores(
    model: nn.Module, weights: dict, in_shape: tuple[int, ...], mask: Mask | None = None
) -> dict[str, torch.Tensor]:
    """Synaptic flow ∂R/∂θ ⊙ θ (Tanaka, Kunin, Yamins & Ganguli, "Pruning neural networks without
    any data by iteratively conserving synaptic flow", NeurIPS 2020), in float64; data-free.

    R = 1ᵀ f(1; |θ| ⊙ m) is the summed output of the network with every weight replaced by its
    magnitude (times ``mask``), fed one all-ones example of shape ``in_shape``; for an MLP that is
    the path norm 1ᵀ(Π |W_l|)1 of the paper. Biases are set to 0, as in the paper's R: the authors'
    code takes |b| instead, the same thing at ticketlab's θ0 (zero biases), but nonzero biases (a
    rewind point θk) would let flow bypass the weights and break the conservation below. With zero
    biases and ReLUs, every layer's scores sum to R: synaptic saliency is conserved layer by layer
    (the paper's network-wise conservation theorem). R is a product over layers of numbers that can
    be large, so it overflows float32 in deep networks: scores are computed and returned in float64.
    BatchNorm would rescale the flow; these networks have none, and one that does is refused.
    """
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise ConfigError("synflow_scores supports networks without BatchNorm (MLPs and convolutions)")
    _check_weights(model, weights, mask)
    names = prunable_names(weights)
    params = {n: torch.zeros_like(w, dtype=torch.float64).detach() for n, w in weights.items()}
    for n in names:
        params[n] = (weights[n].detach().double().abs() * _mask_of(mask, n, weights[n])).requires_grad_()
    ones = torch.ones((1, *in_shape), dtype=torch.float64, device=weights[names[0]].device)
    flow = functional_call(model, params, (ones,)).sum()
    grads = torch.autograd.grad(flow, [params[n] for n in names])
    return {n: (g * params[n]).detach() for n, g in zip(names, grads)}


def synflow_mask(
    model: nn.Module, weights: dict, in_shape: tuple[int, ...], target: float | Mask, rounds: int = SYNFLOW_ROUNDS
) -> Mask:
    """SynFlow as published: ``rounds`` rounds of scoring with the current mask and pruning, on an
    exponential schedule, to ``target``: a density (global ranking, the paper's method) or a Mask
    whose layer-wise counts each layer must reach (the same schedule within every layer).

    Round k of n keeps round(N · (target / N)^(k/n)) of the N weights (the last round exactly the
    target). Re-scoring after each small step is how SynFlow avoids layer collapse (a whole layer
    pruned away while other layers keep weights), which one-shot pruning on the same scores suffers.
    """
    if not isinstance(rounds, int) or rounds < 1:
        raise ConfigError(f"rounds must be a positive whole number, got {rounds!r}")
    mask = Mask.ones_like(weights)
    sizes = {n: m.numel() for n, m in mask.items()}
    final = _final_counts(target, mask)
    for k in range(1, rounds + 1):
        scores = synflow_scores(model, weights, in_shape, mask)
        if isinstance(final, int):
            mask = _keep_global(scores, mask, _scheduled(sum(sizes.values()), final, k, rounds))
        else:
            mask = Mask({n: _keep(scores[n], mask[n], _scheduled(sizes[n], final[n], k, rounds)) for n in mask})
    return mask


def mask_like(scores: dict[str, torch.Tensor], reference: Mask) -> Mask:
    """Keep the highest-scoring weights of each layer, as many as ``reference`` keeps in that layer."""
    bad = [n for n in reference if n not in scores or scores[n].shape != reference[n].shape]
    if bad:
        raise ConfigError(f"scores do not match the reference mask at layer {bad[0]}")
    return Mask({n: _keep(scores[n], torch.ones_like(m), int(m.sum().item())) for n, m in reference.items()})


def mask_global(scores: dict[str, torch.Tensor], density: float) -> Mask:
    """Keep the fraction ``density`` of all weights with the highest scores, all layers ranked
    together: the method decides how dense each layer ends up."""
    dense = Mask({n: torch.ones_like(s, dtype=torch.float32) for n, s in scores.items()})
    return _keep_global(scores, dense, max(1, round(_density(density) * dense.num_weights)))


def shuffle_within_layers(mask: Mask, generator: torch.Generator) -> Mask:
    """Each layer's mask randomly permuted: same count per layer, new positions (the "random
    shuffling" ablation of Frankle, Dziugaite, Roy & Carbin, ICLR 2021).

    A uniform random permutation of a layer's 0/1 entries is a uniformly random set of that many
    positions, which is what ``pruning.prune_random`` draws; so this is random pruning with the
    layer-wise densities of ``mask``.
    """
    return prune_random(mask, generator)


def _density(density: float) -> float:
    if not 0.0 < float(density) <= 1.0:
        raise ConfigError(f"target density {density!r} is outside (0, 1]: give the fraction of weights to keep")
    return float(density)


def _final_counts(target: float | Mask, dense: Mask) -> int | dict[str, int]:
    """Survivors to reach: one global count for a density, per-layer counts for a Mask."""
    if isinstance(target, Mask):
        target.check_matches(dense)
        return {n: int(m.sum().item()) for n, m in target.items()}
    return max(1, round(_density(target) * dense.num_weights))


def _scheduled(size: int, final: int, k: int, rounds: int) -> int:
    """Survivors after round k of ``rounds`` on the exponential schedule from ``size`` to ``final``."""
    return final if k == rounds else max(final, round(size * (final / size) ** (k / rounds)))


def _keep(scores: torch.Tensor, eligible: torch.Tensor, keep: int) -> torch.Tensor:
    """0/1 float tensor keeping the ``keep`` highest scores among ``eligible`` weights (ties: first
    position). Like ``pruning.keep_top`` but ranked in the scores' own dtype: that one ranks in
    float32, where SynFlow's float64 scores of a deep network could overflow to ties at inf."""
    allowed = int(eligible.sum().item())
    if not 0 <= keep <= allowed:
        raise ConfigError(f"cannot keep {keep} weights of a layer with {allowed} left")
    flat = torch.where(eligible.flatten() > 0, scores.flatten(), torch.tensor(float("-inf"), dtype=scores.dtype))
    new = torch.zeros(flat.numel(), dtype=torch.float32, device=scores.device)
    new[torch.argsort(flat, descending=True, stable=True)[:keep]] = 1.0
    return new.view_as(eligible)


def _keep_global(scores: dict[str, torch.Tensor], mask: Mask, keep: int) -> Mask:
    """``_keep`` over all layers of ``mask`` ranked together."""
    names = list(mask)
    kept = _keep(torch.cat([scores[n].flatten() for n in names]), torch.cat([mask[n].flatten() for n in names]), keep)
    return Mask({n: t.view_as(mask[n]) for n, t in zip(names, kept.split([mask[n].numel() for n in names]))})


def _check_weights(model: nn.Module, weights: dict, mask: Mask | None) -> None:
    expected = {n for n, _ in model.named_parameters()}
    if set(weights) != expected:
        raise ConfigError(
            f"weights must hold every parameter of the model: missing or extra {sorted(expected ^ set(weights))}"
        )
    if mask is not None:
        mask.check_matches(weights)


def _mask_of(mask: Mask | None, name: str, like: torch.Tensor) -> torch.Tensor | float:
    return mask[name].to(like.device) if mask is not None else 1.0


def _differentiable(model: nn.Module, weights: dict, mask: Mask | None) -> tuple[dict, list[str]]:
    """Detached copies of ``weights`` (prunable ones times ``mask``) whose prunable weights need gradients."""
    _check_weights(model, weights, mask)
    names = prunable_names(weights)
    params = {n: w.detach() for n, w in weights.items()}
    for n in names:
        params[n] = (params[n] * _mask_of(mask, n, params[n])).requires_grad_()
    return params, names
