"""Self-checking exercises: a student's function against the reference, with a friendly verdict.

Each ``check_*`` runs the student's function on a few seeded random cases, compares it with
the engine (``ticketlab.pruning``) and says *what* differs, naming the typical mistake when it
recognises one (the bugs public implementations shipped, see the course reference). A wrong
answer is a ``CheckResult``, never an exception, so a notebook whose exercises are still
empty (``...`` bodies) runs from top to bottom.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F

from ..init_pruning import snip_scores
from ..masks import Mask
from ..models import build, output_layer_name, prunable_names
from ..pruning import counts_after_rounds, keep_top, prune_magnitude

__all__ = [
    "CheckResult",
    "check_magnitude_prune",
    "check_reset",
    "check_early_stop",
    "check_random_prune",
    "check_percent_remaining",
    "check_snip_scores",
    "lenet_percent_remaining",
]

NOT_IMPLEMENTED = "not implemented yet: fill in the function above"


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a checker; shows as "✅ ..." or "❌ ..." in a notebook."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        return f"{'✅' if self.passed else '❌'} {self.message}"

    def _repr_markdown_(self) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        """True when passed, so a solution can be tested with ``assert check_...(fn)``."""
        return self.passed


class _Verdict(Exception):
    """Ends a check at the first problem found; the message is what the student reads."""


def _verdict(run_cases, fn) -> CheckResult:
    """``run_cases(fn)`` returns the praise for a correct function or raises ``_Verdict``."""
    try:
        return CheckResult(True, run_cases(fn))
    except _Verdict as verdict:
        return CheckResult(False, str(verdict))


def _ask(fn, where: str, *args):
    """Call the student's function; an empty template or a crash becomes a verdict."""
    try:
        answer = fn(*args)
    except NotImplementedError:
        raise _Verdict(NOT_IMPLEMENTED) from None
    except Exception as err:  # any crash in student code is reported, never raised
        raise _Verdict(f"{where}, your function raised {type(err).__name__}: {err}") from None
    if answer is None:
        raise _Verdict(f"{NOT_IMPLEMENTED} (it returned None; if you did, check that it ends with `return ...`)")
    return answer


def _shape(t: torch.Tensor) -> str:
    return "x".join(str(s) for s in t.shape)


def _as_mask(answer, like: torch.Tensor, where: str) -> torch.Tensor:
    """The answer as a float 0/1 tensor of ``like``'s shape, or a verdict saying why not."""
    if not isinstance(answer, torch.Tensor):
        raise _Verdict(
            f"{where}, you returned a {type(answer).__name__}; return a torch.Tensor of shape {_shape(like)}"
        )
    if answer.shape != like.shape:
        raise _Verdict(f"{where}, your mask has shape {_shape(answer)}, expected {_shape(like)}")
    values = answer.float()
    if not ((values == 0) | (values == 1)).all():
        odd = values[(values != 0) & (values != 1)][0].item()
        raise _Verdict(
            f"{where}, your mask has values other than 0 and 1 (e.g. {odd:.3g}); "
            "return the mask, not the masked weights"
        )
    return values


# --- magnitude pruning -------------------------------------------------------------------------

# (shape, weights already pruned, rate): the fractions rate × survivors (4.0, 6.6, 8.4, 6.4, 7.65)
# tell round() from int() and ceil(), and the pruned weights tell survivors from all weights.
PRUNE_CASES = (((4, 5), 0, 0.2), ((6, 7), 9, 0.2), ((8, 5), 12, 0.3), ((10, 10), 36, 0.1), ((3, 3, 3, 3), 30, 0.15))


def _prune_case(shape, pruned: int, generator: torch.Generator):
    weight = torch.randn(shape, generator=generator)
    mask = torch.ones(weight.numel())
    mask[torch.randperm(weight.numel(), generator=generator)[:pruned]] = 0.0
    return weight, mask.view(shape)


def check_magnitude_prune(fn) -> CheckResult:
    """Check ``fn(weight, mask, rate) -> new mask``: remove round(rate × surviving) of the
    surviving weights with the smallest |w|; pruned weights stay pruned."""
    return _verdict(_run_magnitude_prune, fn)


def _run_magnitude_prune(fn) -> str:
    generator = torch.Generator().manual_seed(0)
    for shape, pruned, rate in PRUNE_CASES:
        weight, mask = _prune_case(shape, pruned, generator)
        surviving = int(mask.sum())
        where = f"on a {_shape(weight)} weight with {surviving} surviving and rate {rate}"
        expected = prune_magnitude({"layer.weight": weight}, Mask({"layer.weight": mask}), {"layer.weight": rate})[
            "layer.weight"
        ]
        answer = _as_mask(_ask(fn, where, weight.clone(), mask.clone(), rate), mask, where)
        if not torch.equal(answer, expected):
            raise _Verdict(f"{where} {_diagnose_prune(answer, expected, weight, mask, rate)}")
    return (
        f"correct on {len(PRUNE_CASES)} random layers: "
        "the smallest |w| among the survivors go, round(rate × surviving) of them"
    )


def _diagnose_prune(answer, expected, weight, mask, rate) -> str:
    surviving, kept, keep = int(mask.sum()), int(answer.sum()), int(expected.sum())
    revived = int(((answer == 1) & (mask == 0)).sum())
    if revived:
        return f"you revived {revived} weights that were already pruned: a pruned weight stays pruned (new mask ≤ old mask)"
    if kept == surviving - round(rate * mask.numel()) != keep:
        return (
            f"you kept {kept} weights, expected {keep}: you removed rate × all {mask.numel()} weights "
            f"({round(rate * mask.numel())}) instead of rate × the {surviving} survivors ({surviving - keep})"
        )
    if kept == surviving:
        return f"you kept {kept} weights, expected {keep}: you removed none; remove round(rate × surviving) = {surviving - keep}"
    if kept != keep:
        return (
            f"you kept {kept} weights, expected {keep}: remove round(rate × surviving) = round({rate} × {surviving}) "
            f"= {surviving - keep} weights (you removed {surviving - kept}; check your rounding)"
        )
    if torch.equal(answer, keep_top(weight, mask, keep)):
        return (
            "you pruned by the signed value w, so negative weights went first (the `w < eps` bug that froze "
            "every negative weight in a popular repository): rank by |w|"
        )
    if torch.equal(answer, keep_top(-weight.abs(), mask, keep)):
        return "you kept the smallest |w| and removed the largest: magnitude pruning removes the smallest"
    removed = weight[(mask == 1) & (answer == 0) & (expected == 1)].abs().max().item()
    still = weight[(answer == 1) & (expected == 0)].abs().min().item()
    return (
        f"you kept the right number ({kept}) but removed a weight with |w| = {removed:.3f} "
        f"while keeping one with |w| = {still:.3f}"
    )


# --- reset to θ0 ---------------------------------------------------------------------------------

RESET_LAYERS = (((5, 4), (3, 5)), ((8, 6), (4, 8)), ((6, 3), (6, 6), (2, 6)))


def _reset_case(layers, generator: torch.Generator):
    """θ0 with non-zero biases (so a zeroed bias shows), θj = θ0 + training noise, a random mask."""
    init, mask = {}, {}
    for i, shape in enumerate(layers, start=1):
        init[f"fc{i}.weight"] = torch.randn(shape, generator=generator)
        init[f"fc{i}.bias"] = torch.randn(shape[0], generator=generator)
        mask[f"fc{i}.weight"] = (torch.rand(shape, generator=generator) < 0.5).float()
    trained = {n: t + 0.5 * torch.randn(t.shape, generator=generator) for n, t in init.items()}
    return trained, init, mask


def check_reset(fn) -> CheckResult:
    """Check ``fn(trained, init, mask) -> weights``: survivors back to θ0, pruned weights 0,
    biases (not in the mask) back to θ0, and the inputs left unchanged."""
    return _verdict(_run_reset, fn)


def _run_reset(fn) -> str:
    generator = torch.Generator().manual_seed(1)
    for layers in RESET_LAYERS:
        trained, init, mask = _reset_case(layers, generator)
        where = f"on a {len(layers)}-layer network ({', '.join(n for n in init if n.endswith('weight'))} masked)"
        given = tuple({n: t.clone() for n, t in d.items()} for d in (trained, init, mask))
        answer = _ask(fn, where, *given)
        _check_inputs_unchanged(given, (trained, init, mask), where)
        expected = {n: t.clone() for n, t in init.items()}
        Mask(mask).apply_(expected)
        _check_reset_answer(answer, expected, trained, init, mask, where)
    return f"correct on {len(RESET_LAYERS)} random networks: survivors get θ0, pruned weights are 0, biases get θ0"


def _check_inputs_unchanged(given, originals, where: str) -> None:
    for label, passed, original in zip(("trained", "init", "mask"), given, originals, strict=True):
        if any(not torch.equal(passed[n], original[n]) for n in original):
            raise _Verdict(
                f"{where}, your function changed `{label}` in place; build new tensors "
                f"(e.g. init[name] * mask[name]) so θ0 stays intact for the next round"
            )


def _check_reset_answer(answer, expected, trained, init, mask, where: str) -> None:
    if not isinstance(answer, dict):
        raise _Verdict(f"{where}, you returned a {type(answer).__name__}; return a dict name -> tensor like `init`")
    for name, want in expected.items():
        if name not in answer:
            raise _Verdict(f"{where}, your result has no {name!r}: return every entry of `trained`, biases too")
        got = answer[name]
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            raise _Verdict(f"{where}, {name} should be a tensor of shape {_shape(want)}")
        problem = _reset_problem(name, got.float(), want, trained[name], init[name], mask.get(name))
        if problem:
            raise _Verdict(f"{where}, {problem}")


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, atol=1e-6)


def _reset_problem(name, got, want, trained, init, mask) -> str | None:
    if _same(got, want):
        return None
    if mask is None:
        if _same(got, trained):
            return f"bias {name} kept its trained value: biases are not pruned, but they are reset to θ0 too"
        if _same(got, torch.zeros_like(got)):
            return f"you set bias {name} to 0: biases are not pruned; reset them to θ0"
        return f"bias {name} differs from θ0: reset it to init[{name!r}]"
    pruned, kept = mask == 0, mask == 1
    if not _same(got[pruned], torch.zeros_like(got[pruned])):
        source = (
            "their θ0 values"
            if _same(got[pruned], init[pruned])
            else ("their trained values" if _same(got[pruned], trained[pruned]) else "non-zero values")
        )
        return f"the {int(pruned.sum())} pruned weights of {name} have {source}: pruned weights must be 0 (multiply by the mask)"
    if _same(got[kept], trained[kept]):
        return f"the surviving weights of {name} kept their trained values θj: reset them to θ0"
    wrong = int((~torch.isclose(got[kept], init[kept], atol=1e-6)).sum())
    return f"{wrong} surviving weights of {name} differ from θ0: survivors get init[{name!r}]"


# --- early-stop iteration ------------------------------------------------------------------------


def _bowl(n: int, bottom: int, generator: torch.Generator) -> torch.Tensor:
    """A noisy V-shaped curve whose unique minimum is at index ``bottom``."""
    return 0.1 + 0.01 * (torch.arange(n) - bottom).abs() + 0.004 * torch.rand(n, generator=generator)


def _curve_case(n: int, tie: bool, generator: torch.Generator) -> pd.DataFrame:
    """A validation curve whose val, test-loss and test-accuracy optima fall at different iterations."""
    k_val, k_test, k_acc, k_tie = (1 + torch.randperm(n - 2, generator=generator)[:4]).tolist()
    k_val, k_tie = min(k_val, k_tie), max(k_val, k_tie)
    val = _bowl(n, k_val, generator)
    if tie:
        val[k_tie] = val[k_val]
    return pd.DataFrame(
        {
            "iteration": 100 * torch.arange(n).numpy(),
            "val_loss": val.numpy(),
            "test_loss": _bowl(n, k_test, generator).numpy(),
            "test_acc": (1.08 - _bowl(n, k_acc, generator)).numpy(),
        }
    )


def check_early_stop(fn) -> CheckResult:
    """Check ``fn(curve) -> iteration``: the iteration of the smallest validation loss (the
    first one on ties), read from the ``iteration`` column; test data must play no part."""
    return _verdict(_run_early_stop, fn)


def _run_early_stop(fn) -> str:
    generator = torch.Generator().manual_seed(2)
    cases = [(16, False), (21, True), (30, False), (12, True)]
    for n, tie in cases:
        curve = _curve_case(n, tie, generator)
        tied = ", with a tie for the lowest val_loss" if tie else ""
        where = f"on a curve of {n} evaluations (iterations 0 to {100 * (n - 1)}{tied})"
        answer = _ask(fn, where, curve.copy())
        expected = int(curve["iteration"][curve["val_loss"].idxmin()])
        if not _is_number(answer):
            raise _Verdict(f"{where}, you returned a {type(answer).__name__}; return one number, e.g. int(...)")
        if float(answer) != expected:
            why = _diagnose_early_stop(float(answer), curve)
            raise _Verdict(f"{where} you answered {float(answer):g}, expected {expected}: {why}")
    return f"correct on {len(cases)} random curves: the first iteration with the lowest validation loss"


def _is_number(answer) -> bool:
    if isinstance(answer, torch.Tensor):
        return answer.numel() == 1
    try:
        float(answer)
    except (TypeError, ValueError):
        return False
    return not isinstance(answer, (str, bytes, pd.Series, pd.DataFrame))


def _diagnose_early_stop(answer: float, curve: pd.DataFrame) -> str:
    best = curve["val_loss"].min()
    iterations = curve["iteration"]
    if answer == curve["val_loss"].idxmin():
        return "that is the row number; return the value in the `iteration` column of that row"
    if answer == iterations[curve["test_loss"].idxmin()]:
        return (
            "that is where the *test* loss is lowest; early stopping must use the validation loss only "
            "(choosing on test data leaks it)"
        )
    if answer == iterations[curve["test_acc"].idxmax()]:
        return (
            "that is where the *test* accuracy is highest; early stopping uses the validation loss "
            "(reporting the best test accuracy is selection on test data)"
        )
    ties = iterations[curve["val_loss"] == best].tolist()
    if len(ties) > 1 and answer == ties[-1]:
        return f"val_loss reaches its minimum at iterations {ties}: take the first"
    if abs(answer - best) < 1e-9:
        return "that is the lowest validation loss itself; return the iteration where it occurs"
    if answer == iterations[curve["val_loss"].idxmax()]:
        return "that is where validation loss is highest; take its minimum"
    return "the early-stop iteration is where `val_loss` is smallest"


# --- random pruning (the random-mask control) -------------------------------------------------------

RANDOM_CASES = (((4, 5), 8), ((10, 10), 37), ((3, 3, 3, 3), 20))
COVERAGE_DRAWS = 50


def check_random_prune(fn) -> CheckResult:
    """Check ``fn(mask, generator) -> mask``: as many survivors as ``mask``, at positions drawn
    from ``generator`` (reproducible), anywhere in the layer."""
    return _verdict(_run_random_prune, fn)


def _run_random_prune(fn) -> str:
    generator = torch.Generator().manual_seed(3)
    for shape, keep in RANDOM_CASES:
        mask = torch.zeros(torch.Size(shape).numel())
        mask[torch.randperm(mask.numel(), generator=generator)[:keep]] = 1.0
        mask = mask.view(shape)
        where = f"on a {_shape(mask)} mask with {keep} survivors"
        first = _draw(fn, mask, seed=0, where=where)
        if torch.equal(first, mask):
            raise _Verdict(f"{where}, you returned the same mask: the control draws new random positions")
        if not torch.equal(first, _draw(fn, mask, seed=0, where=where)):
            raise _Verdict(
                f"{where}, two calls with identically seeded generators gave different masks: draw your "
                "random numbers from `generator` (e.g. torch.randperm(n, generator=generator))"
            )
    _check_coverage(fn, RANDOM_CASES[0])
    return (
        f"correct on {len(RANDOM_CASES)} random masks: "
        "same number of survivors, fresh reproducible positions anywhere in the layer"
    )


def _draw(fn, mask: torch.Tensor, seed: int, where: str) -> torch.Tensor:
    answer = _as_mask(_ask(fn, where, mask.clone(), torch.Generator().manual_seed(seed)), mask, where)
    kept, keep = int(answer.sum()), int(mask.sum())
    if kept != keep:
        raise _Verdict(
            f"{where}, you kept {kept} weights, expected exactly {keep}: a coin flip per weight (Bernoulli) "
            "only matches on average; pick exactly that many positions, e.g. torch.randperm"
        )
    return answer


def _check_coverage(fn, case) -> None:
    """Over many seeds every position must survive at least once, and the masks must hardly ever
    repeat (a 4x5 layer with 8 survivors has 125,970 placements): the draw covers the whole layer."""
    shape, keep = case
    mask = torch.zeros(shape)
    mask.view(-1)[:keep] = 1.0
    where = f"on a {_shape(mask)} mask with {keep} survivors"
    draws = torch.stack([_draw(fn, mask, seed, where) for seed in range(COVERAGE_DRAWS)])
    never = int((draws.sum(0) == 0).sum())
    if never:
        raise _Verdict(
            f"{where}, {never} of the {mask.numel()} positions never survived in {COVERAGE_DRAWS} draws "
            "with different seeds: every weight of the layer must be able to survive"
        )
    distinct = len(torch.unique(draws.flatten(1), dim=0))
    if distinct < COVERAGE_DRAWS - 5:
        raise _Verdict(
            f"{where}, {COVERAGE_DRAWS} draws with different seeds gave only {distinct} different masks: "
            "every placement of the survivors must be possible (shuffling whole rows or columns is not enough)"
        )


# --- percent of LeNet remaining ---------------------------------------------------------------------

# (rounds, rate, output_rate): after 1 round a too-high output rate hides in LeNet's 266,200 weights;
# later rounds show it.
PERCENT_CASES = ((0, 0.2, 0.1), (1, 0.2, 0.1), (5, 0.2, 0.1), (3, 0.5, 0.25), (10, 0.3, 0.05), (20, 0.2, 0.1))
PERCENT_TOLERANCE = 0.05


@functools.cache
def _lenet_sizes() -> dict[str, int]:
    params = dict(build("lenet").named_parameters())
    return {n: params[n].numel() for n in prunable_names(params)}


def lenet_percent_remaining(rounds: int, rate: float, output_rate: float) -> float:
    """Percent of LeNet-300-100's weights left after ``rounds`` rounds (the engine's integer ladder)."""
    sizes = _lenet_sizes()
    rates = {n: rate for n in sizes} | {output_layer_name(sizes): output_rate}
    return 100.0 * sum(counts_after_rounds(sizes, rates, rounds).values()) / sum(sizes.values())


def check_percent_remaining(fn) -> CheckResult:
    """Check ``fn(rounds, rate, output_rate) -> percent``: each round removes ``rate`` of the
    surviving weights of fc1 and fc2 and ``output_rate`` of the output layer's (within 0.05 pp)."""
    return _verdict(_run_percent_remaining, fn)


def _run_percent_remaining(fn) -> str:
    for rounds, rate, output_rate in PERCENT_CASES:
        where = f"for {rounds} round{'' if rounds == 1 else 's'} at rate {rate} (output layer {output_rate})"
        answer = _ask(fn, where, rounds, rate, output_rate)
        if not _is_number(answer):
            raise _Verdict(f"{where}, you returned a {type(answer).__name__}; return one number (a percent)")
        expected = lenet_percent_remaining(rounds, rate, output_rate)
        if abs(float(answer) - expected) > PERCENT_TOLERANCE:
            raise _Verdict(
                f"{where} you answered {float(answer):.3f}%, expected {expected:.3f}%: "
                f"{_diagnose_percent(float(answer), rounds, rate, output_rate)}"
            )
    example = lenet_percent_remaining(20, 0.2, 0.1)
    return f"correct on {len(PERCENT_CASES)} cases, e.g. {example:.1f}% of LeNet remains after 20 rounds"


def _diagnose_percent(answer: float, rounds: int, rate: float, output_rate: float) -> str:
    expected = lenet_percent_remaining(rounds, rate, output_rate)

    def near(value: float) -> bool:
        return abs(answer - value) <= PERCENT_TOLERANCE

    if near(100 * (1 - rate) ** rounds):
        return (
            f"you pruned the output layer at {rate} too; it loses {output_rate} per round (half the rate in the paper). "
            "It holds only 1,000 of LeNet's 266,200 weights, so the difference is small but real"
        )
    if near(100 * (1 - rate * rounds)):
        return "you subtracted rate × rounds; each round removes a fraction of the *remaining* weights, so (1 − rate) compounds"
    if near(expected / 100):
        return "that looks like a fraction; return a percent (× 100)"
    if near(100 - expected):
        return "that is the percent pruned; return the percent remaining"
    if rounds > 0 and near(lenet_percent_remaining(rounds - 1, rate, output_rate)):
        return f"that is the value after {rounds - 1} rounds: count every round from 1 to {rounds}"
    return "compute each layer's survivors round by round (fc1 784×300, fc2 300×100 at `rate`, fc3 100×10 at `output_rate`)"


# --- SNIP's connection sensitivity ------------------------------------------------------------------

# (model, batch size, data seed): SNIP's |∂L/∂θ ⊙ θ| on a few small networks at their θ0
SNIP_CASES = (("toy-mlp", 16, 0), ("toy-mlp", 64, 1), ("lenet", 8, 2))
SNIP_TOLERANCE = 1e-4  # relative: the student's autograd may sum in another order


def check_snip_scores(fn) -> CheckResult:
    """Check ``fn(model, weights, x, y) -> {name: scores}``: SNIP's |∂L/∂θ ⊙ θ| for every prunable
    weight (``*.weight``; biases are not pruned), L the mean cross-entropy on (x, y). Scores divided
    by a common constant (SNIP's normalisation) pass: they rank the weights the same way."""
    return _verdict(_run_snip, fn)


def _run_snip(fn) -> str:
    for name, size, seed in SNIP_CASES:
        model = build(name, seed=seed)
        generator = torch.Generator().manual_seed(seed)
        shape = (size, 2) if name == "toy-mlp" else (size, 1, 28, 28)
        x, y = (
            torch.randn(shape, generator=generator),
            torch.randint(0, 10 if name == "lenet" else 2, (size,), generator=generator),
        )
        weights = {n: p.detach().clone() for n, p in model.named_parameters()}
        where = f"on a {name} at θ0 with a batch of {size}"
        answer = _ask(fn, where, model, {n: w.clone() for n, w in weights.items()}, x, y)
        expected = snip_scores(model, weights, x, y)
        _check_snip_answer(answer, expected, weights, model, x, y, where)
    return f"correct on {len(SNIP_CASES)} networks: |∂L/∂θ ⊙ θ| for every prunable weight"


def _check_snip_answer(answer, expected: dict, weights: dict, model, x, y, where: str) -> None:
    if not isinstance(answer, dict):
        raise _Verdict(f"{where}, you returned a {type(answer).__name__}; return a dict {{layer name: scores}}")
    extra = sorted(set(answer) - set(expected))
    if any(n.endswith(".bias") for n in extra):
        raise _Verdict(f"{where}, you scored {extra[0]}: biases are never pruned, score the *.weight tensors only")
    missing = sorted(set(expected) - set(answer))
    if missing or extra:
        raise _Verdict(f"{where}, expected scores for {sorted(expected)}, got {sorted(answer)}")
    for n, want in expected.items():
        got = answer[n]
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            raise _Verdict(f"{where}, the scores of {n} must be a tensor of shape {_shape(want)}")
    scale = _common_scale(answer, expected)
    if scale is not None and all(_close(answer[n].detach().float() * scale, expected[n]) for n in expected):
        return
    raise _Verdict(f"{where}, the scores differ from SNIP's: {_diagnose_snip(answer, expected, weights, model, x, y)}")


def _common_scale(answer: dict, expected: dict) -> float | None:
    """The constant c with answer · c ≈ expected (SNIP divides by the sum of all scores), if any."""
    total = sum(float(answer[n].detach().float().sum()) for n in expected)
    return None if total == 0 else sum(float(e.sum()) for e in expected.values()) / total


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.allclose(a, b, rtol=SNIP_TOLERANCE, atol=SNIP_TOLERANCE * float(b.abs().max())))


def _diagnose_snip(answer: dict, expected: dict, weights: dict, model, x, y) -> str:
    params = {n: w.detach().clone().requires_grad_(n in expected) for n, w in weights.items()}
    loss = F.cross_entropy(torch.func.functional_call(model, params, (x,)), y)
    grads = dict(zip(expected, torch.autograd.grad(loss, [params[n] for n in expected])))
    guesses = {
        "you returned the gradient alone: SNIP multiplies it by the weight, |g ⊙ θ|": {
            n: grads[n].abs() for n in grads
        },
        "you kept the sign of g ⊙ θ: SNIP scores its magnitude, |g ⊙ θ|": {n: grads[n] * weights[n] for n in grads},
        "you returned |θ|, magnitude at initialisation: SNIP multiplies it by the loss gradient": {
            n: weights[n].abs() for n in grads
        },
    }
    for message, guess in guesses.items():
        scale = _common_scale(answer, guess)
        if scale is not None and all(_close(answer[n].detach().float() * scale, guess[n]) for n in guess):
            return message
    return "compute the mean cross-entropy of model(x) with `weights` (torch.func.functional_call), its gradient g for each *.weight, then |g ⊙ θ|"
