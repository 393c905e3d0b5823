"""Exercise checkers: a correct answer passes, each typical wrong answer fails with a message
that names the difference, and an empty template is "not implemented yet", never an error."""

import math

import pytest
import torch

from ticketlab import pruning
from ticketlab.course.exercises import (
    NOT_IMPLEMENTED,
    CheckResult,
    check_early_stop,
    check_magnitude_prune,
    check_percent_remaining,
    check_random_prune,
    check_reset,
    check_snip_scores,
    lenet_percent_remaining,
)
from ticketlab.masks import Mask

# --- student answers: magnitude pruning --------------------------------------------------------------


def _keep_largest(scores, mask, remove):
    """A student's own ranking: among survivors, drop the ``remove`` lowest scores."""
    survivors = mask.flatten().nonzero().flatten()
    order = survivors[scores.flatten()[survivors].argsort()]
    new = mask.flatten().clone()
    new[order[:remove]] = 0.0
    return new.view_as(mask)


def prune_right(weight, mask, rate):
    return _keep_largest(weight.abs(), mask, round(rate * int(mask.sum())))


def prune_signed(weight, mask, rate):  # the `w < eps` bug: negatives go first
    return _keep_largest(weight, mask, round(rate * int(mask.sum())))


def prune_rate_of_all(weight, mask, rate):
    return _keep_largest(weight.abs(), mask, round(rate * mask.numel()))


def prune_reviving(weight, mask, rate):
    surviving = int(mask.sum())
    return _keep_largest(weight.abs(), torch.ones_like(mask), mask.numel() - surviving + round(rate * surviving))


def prune_floor(weight, mask, rate):
    return _keep_largest(weight.abs(), mask, int(rate * int(mask.sum())))


def prune_ceil(weight, mask, rate):
    return _keep_largest(weight.abs(), mask, math.ceil(rate * int(mask.sum())))


def prune_largest(weight, mask, rate):
    return _keep_largest(-weight.abs(), mask, round(rate * int(mask.sum())))


def prune_weights_not_mask(weight, mask, rate):
    return weight * prune_right(weight, mask, rate)


def test_magnitude_prune_accepts_a_correct_answer_and_a_bool_mask():
    assert check_magnitude_prune(prune_right).passed
    assert check_magnitude_prune(lambda w, m, r: prune_right(w, m, r).bool()).passed


@pytest.mark.parametrize(
    "answer, says",
    [
        (prune_signed, "signed value"),
        (prune_rate_of_all, "instead of rate × the 33 survivors"),
        (prune_reviving, "revived"),
        (prune_floor, "you kept 27 weights, expected 26"),
        (prune_ceil, "you removed 9"),
        (prune_largest, "kept the smallest |w|"),
        (prune_weights_not_mask, "values other than 0 and 1"),
        (lambda w, m, r: m.clone(), "you kept 20 weights, expected 16: you removed none"),
        (lambda w, m, r: m[0], "has shape 5, expected 4x5"),
    ],
)
def test_magnitude_prune_names_the_mistake(answer, says):
    result = check_magnitude_prune(answer)
    assert not result.passed
    assert says in result.message


def test_magnitude_prune_message_names_the_case():
    message = check_magnitude_prune(prune_floor).message
    assert message.startswith("on a 6x7 weight with 33 surviving and rate 0.2 you kept 27 weights, expected 26")


# --- student answers: reset to θ0 -------------------------------------------------------------------


def reset_right(trained, init, mask):
    return {name: init[name] * mask[name] if name in mask else init[name].clone() for name in init}


def reset_keeps_trained(trained, init, mask):
    return {name: trained[name] * mask[name] if name in mask else init[name].clone() for name in init}


def reset_forgets_to_zero(trained, init, mask):
    return {name: init[name].clone() for name in init}


def reset_skips_biases(trained, init, mask):
    return {name: init[name] * mask[name] if name in mask else trained[name] for name in init}


def reset_zeroes_biases(trained, init, mask):
    return {name: init[name] * mask.get(name, 0.0) for name in init}


def reset_drops_biases(trained, init, mask):
    return {name: init[name] * mask[name] for name in mask}


def reset_in_place(trained, init, mask):
    for name in mask:
        init[name].mul_(mask[name])
    return init


def test_reset_accepts_a_correct_answer():
    assert check_reset(reset_right).passed


@pytest.mark.parametrize(
    "answer, says",
    [
        (reset_keeps_trained, "kept their trained values θj"),
        (reset_forgets_to_zero, "pruned weights of fc1.weight have their θ0 values"),
        (reset_skips_biases, "bias fc1.bias kept its trained value"),
        (reset_zeroes_biases, "you set bias fc1.bias to 0"),
        (reset_drops_biases, "no 'fc1.bias'"),
        (reset_in_place, "changed `init` in place"),
        (lambda trained, init, mask: list(init.values()), "return a dict"),
    ],
)
def test_reset_names_the_mistake(answer, says):
    result = check_reset(answer)
    assert not result.passed
    assert says in result.message


# --- student answers: early stop ------------------------------------------------------------------


def early_stop_right(curve):
    best = curve["val_loss"].min()
    return int(curve.loc[curve["val_loss"] == best, "iteration"].iloc[0])


@pytest.mark.parametrize(
    "answer",
    [
        early_stop_right,
        lambda c: c["iteration"].to_numpy()[c["val_loss"].to_numpy().argmin()],
        lambda c: float(c.iloc[int(c["val_loss"].argmin())]["iteration"]),
    ],
)
def test_early_stop_accepts_correct_answers_of_any_number_type(answer):
    assert check_early_stop(answer).passed


@pytest.mark.parametrize(
    "answer, says",
    [
        (lambda c: int(c["iteration"][c["test_loss"].idxmin()]), "*test* loss is lowest"),
        (lambda c: int(c["iteration"][c["test_acc"].idxmax()]), "*test* accuracy is highest"),
        (lambda c: int(c["val_loss"].idxmin()), "row number"),
        (lambda c: int(c["iteration"][c["val_loss"][::-1].idxmin()]), "take the first"),
        (lambda c: c["val_loss"].min(), "lowest validation loss itself"),
        (lambda c: int(c["iteration"][c["val_loss"].idxmax()]), "validation loss is highest"),
        (lambda c: c.loc[c["val_loss"] == c["val_loss"].min(), "iteration"], "you returned a Series"),
    ],
)
def test_early_stop_names_the_mistake(answer, says):
    result = check_early_stop(answer)
    assert not result.passed
    assert says in result.message


def test_early_stop_message_gives_both_iterations():
    message = check_early_stop(lambda c: int(c["val_loss"].idxmin())).message
    assert "you answered 3, expected 300" in message


# --- student answers: random pruning ------------------------------------------------------------


def random_right(mask, generator):
    keep = int(mask.sum())
    new = torch.zeros(mask.numel())
    new[torch.randperm(mask.numel(), generator=generator)[:keep]] = 1.0
    return new.view_as(mask)


def random_bernoulli(mask, generator):
    return (torch.rand(mask.shape, generator=generator) < mask.mean()).float()


def random_global_rng(mask, generator):
    keep = int(mask.sum())
    new = torch.zeros(mask.numel())
    new[torch.randperm(mask.numel())[:keep]] = 1.0
    return new.view_as(mask)


def random_first_positions(mask, generator):
    new = torch.zeros(mask.numel())
    new[: int(mask.sum())] = 1.0
    return new.view_as(mask)


def random_shuffle_rows(mask, generator):
    flat = mask.reshape(mask.shape[0], -1)
    return flat[torch.randperm(flat.shape[0], generator=generator)].view_as(mask)


@pytest.mark.parametrize(
    "answer", [random_right, lambda m, g: pruning.prune_random(Mask({"a.weight": m}), g)["a.weight"]]
)
def test_random_prune_accepts_correct_answers(answer):
    assert check_random_prune(answer).passed


@pytest.mark.parametrize(
    "answer, says",
    [
        (random_bernoulli, "expected exactly 8: a coin flip per weight (Bernoulli)"),
        (lambda mask, generator: mask.clone(), "the same mask"),
        (random_global_rng, "draw your random numbers from `generator`"),
        (random_first_positions, "never survived in 50 draws"),
        (random_shuffle_rows, "only 12 different masks"),
    ],
)
def test_random_prune_names_the_mistake(answer, says):
    result = check_random_prune(answer)
    assert not result.passed
    assert says in result.message


# --- student answers: percent remaining -------------------------------------------------------------

LENET = {"fc1": 784 * 300, "fc2": 300 * 100, "fc3": 100 * 10}


def percent_right(rounds, rate, output_rate):
    left = (
        LENET["fc1"] * (1 - rate) ** rounds
        + LENET["fc2"] * (1 - rate) ** rounds
        + LENET["fc3"] * (1 - output_rate) ** rounds
    )
    return 100 * left / sum(LENET.values())


def test_percent_remaining_accepts_the_closed_form_and_matches_the_paper_ladder():
    assert check_percent_remaining(percent_right).passed
    assert [round(lenet_percent_remaining(r, 0.2, 0.1), 1) for r in (1, 2, 3, 6, 15, 20)] == [
        80.0,
        64.1,
        51.3,
        26.3,
        3.6,
        1.2,
    ]


@pytest.mark.parametrize(
    "answer, says",
    [
        (lambda rounds, rate, out: 100 * (1 - rate) ** rounds, "you pruned the output layer at 0.2 too"),
        (lambda rounds, rate, out: 100 * (1 - rate * rounds), "subtracted rate × rounds"),
        (lambda rounds, rate, out: percent_right(rounds, rate, out) / 100, "looks like a fraction"),
        (lambda rounds, rate, out: 100 - percent_right(rounds, rate, out), "percent pruned"),
        (lambda rounds, rate, out: percent_right(max(rounds - 1, 0), rate, out), "the value after 0 rounds"),
    ],
)
def test_percent_remaining_names_the_mistake(answer, says):
    result = check_percent_remaining(answer)
    assert not result.passed
    assert says in result.message


def test_percent_remaining_message_gives_both_values():
    message = check_percent_remaining(lambda rounds, rate, out: 100 * (1 - rate) ** rounds).message
    assert message.startswith("for 5 rounds at rate 0.2 (output layer 0.1) you answered 32.768%, expected 32.866%")


# --- every checker ----------------------------------------------------------------------------------

CHECKERS = [check_magnitude_prune, check_reset, check_early_stop, check_random_prune, check_percent_remaining]


def _template(*args): ...


def _raises_not_implemented(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", CHECKERS)
@pytest.mark.parametrize("empty", [_template, _raises_not_implemented])
def test_an_empty_exercise_is_not_implemented_yet(check, empty):
    result = check(empty)
    assert not result.passed
    assert result.message.startswith(NOT_IMPLEMENTED)


@pytest.mark.parametrize("check", CHECKERS)
def test_a_crash_is_reported_not_raised(check):
    def crashes(*args):
        return {}["missing"]

    result = check(crashes)
    assert not result.passed
    assert "your function raised KeyError: 'missing'" in result.message


@pytest.mark.parametrize(
    "check, wrong",
    [(check_magnitude_prune, prune_signed), (check_reset, reset_keeps_trained), (check_random_prune, random_bernoulli)],
)
def test_verdicts_are_deterministic(check, wrong):
    assert check(wrong) == check(wrong)


def test_result_shows_a_tick_or_a_cross():
    passed, failed = CheckResult(True, "correct"), CheckResult(False, "on a 4x5 weight you kept 17, expected 16")
    assert repr(passed) == passed._repr_markdown_() == "✅ correct"
    assert repr(failed) == "❌ on a 4x5 weight you kept 17, expected 16"
    assert bool(passed) and not bool(failed)


# --- SNIP's connection sensitivity ------------------------------------------------------------------


def _snip_parts(model, weights, x, y):
    params = {n: w.requires_grad_() for n, w in weights.items()}
    loss = torch.nn.functional.cross_entropy(torch.func.functional_call(model, params, (x,)), y)
    names = [n for n in params if n.endswith(".weight")]
    return names, params, torch.autograd.grad(loss, [params[n] for n in names])


def snip_right(model, weights, x, y):
    names, params, grads = _snip_parts(model, weights, x, y)
    return {n: (g * params[n]).abs().detach() for n, g in zip(names, grads)}


def snip_normalised(model, weights, x, y):
    scores = snip_right(model, weights, x, y)
    total = sum(s.sum() for s in scores.values())
    return {n: s / total for n, s in scores.items()}


def snip_gradient_only(model, weights, x, y):
    names, _, grads = _snip_parts(model, weights, x, y)
    return {n: g.abs() for n, g in zip(names, grads)}


def snip_magnitude(model, weights, x, y):
    return {n: w.abs() for n, w in weights.items() if n.endswith(".weight")}


def snip_with_biases(model, weights, x, y):
    return {n: w.abs() for n, w in weights.items()}


@pytest.mark.parametrize("fn", [snip_right, snip_normalised])
def test_snip_checker_passes_the_score_and_its_normalised_form(fn):
    assert check_snip_scores(fn)


@pytest.mark.parametrize(
    "fn, phrase",
    [
        (snip_gradient_only, "multiplies it by the weight"),
        (snip_magnitude, "magnitude at initialisation"),
        (snip_with_biases, "biases are never pruned"),
        (lambda model, weights, x, y: None, "not implemented"),
        (lambda model, weights, x, y: [1, 2], "return a dict"),
    ],
)
def test_snip_checker_names_the_mistake(fn, phrase):
    result = check_snip_scores(fn)
    assert not result and phrase in result.message
