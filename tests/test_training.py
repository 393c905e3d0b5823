"""Tests of ticketlab.training: pruned weights stay exactly zero (with Adam and with weight decay),
negative survivors train, stacking K runs changes nothing, every call starts a fresh optimizer,
early stopping follows validation (never test) loss, and rewinding captures θk.

A few short LeNet runs on MNIST (60 iterations) are trained once per module and shared by the tests."""

import numpy as np
import pytest
import torch

from ticketlab import data, models, pruning, training
from ticketlab.data import Splits
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask
from ticketlab.training import RunSpec, TrainConfig, _Adam, _Stack, train_one, train_stacked

CPU = "cpu"  # exact-equality checks need one deterministic device, whatever the machine has
CONFIG = TrainConfig(iterations=60, lr=1.2e-3, eval_every=20)
REWIND_AT = 20
CURVE_COLUMNS = ["iteration", "val_loss", "val_acc", "test_loss", "test_acc"]


@pytest.fixture(scope="module")
def mnist():
    """All 55K training images; 1K validation and 2K test images keep each evaluation cheap."""
    full = data.load("mnist")
    return full.head(val=1000, test=2000)


def theta0(seed: int, name: str = "lenet") -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in models.build(name, seed=seed).named_parameters()}


def random_mask(params: dict, density: float, seed: int) -> Mask:
    """Exactly round(density x n) random survivors per layer (ranked by random scores)."""
    g = torch.Generator().manual_seed(seed)
    scores = {n: torch.rand(p.shape, generator=g) for n, p in params.items()}
    return pruning.prune_to_density(params, density, scores=scores)


@pytest.fixture(scope="module")
def run_a():
    """LeNet at 80% sparsity: θ0 of seed 0, a random mask keeping 20% of every layer."""
    init = theta0(0)
    return RunSpec(init, random_mask(init, 0.2, seed=10), data_seed=0)


@pytest.fixture(scope="module")
def run_b():
    init = theta0(1)
    return RunSpec(init, random_mask(init, 0.5, seed=11), data_seed=7)


def tracked_a(mnist, run_a, config=CONFIG, **options):
    """Run A alone with its updates tracked (which keeps the dense kernels), as ``result_a`` is trained."""
    return train_stacked(
        models.build("lenet"), [run_a], mnist, config, device=CPU, progress=False, track_updates=True, **options
    )[0]


@pytest.fixture(scope="module")
def result_a(mnist, run_a):
    return tracked_a(mnist, run_a, rewind_iteration=REWIND_AT)


@pytest.fixture(scope="module")
def stacked_results(mnist, run_a, run_b):
    """[A, B, A with another batch order] trained together as one stack."""
    a_reshuffled = RunSpec(run_a.init, run_a.mask, data_seed=1)
    return train_stacked(models.build("lenet"), [run_a, run_b, a_reshuffled], mnist, CONFIG, device=CPU, progress=False)


def assert_same_run(result, reference, atol):
    """Within ``atol`` everywhere; with atol=0, bit for bit (pytest.approx would still allow 1e-6)."""
    if atol == 0:
        assert np.array_equal(result.curve[CURVE_COLUMNS].values, reference.curve[CURVE_COLUMNS].values, equal_nan=True)
    assert result.curve[CURVE_COLUMNS].values == pytest.approx(reference.curve[CURVE_COLUMNS].values, abs=atol)
    assert result.early_stop_iteration == reference.early_stop_iteration
    assert result.test_acc_at_early_stop == pytest.approx(reference.test_acc_at_early_stop, abs=atol)
    assert result.final_train_acc == pytest.approx(reference.final_train_acc, abs=atol)
    assert result.final_train_loss == pytest.approx(reference.final_train_loss, abs=atol)
    for name, weight in reference.final.items():
        gap = (result.final[name] - weight).abs().max().item()
        assert gap <= atol, f"{name} differs by {gap:.2e}"


def assert_exactly_pruned_are_zero(weights: dict, mask: Mask):
    for name, m in mask.items():
        assert torch.count_nonzero(weights[name]) == int(m.sum()), name
        assert torch.count_nonzero(weights[name] * (1 - m)) == 0, name


# --- the mask holds ---------------------------------------------------------------------------


def test_pruned_weights_stay_exactly_zero_with_adam(result_a, run_a):
    assert run_a.mask.percent_remaining == pytest.approx(20.0, abs=0.01)
    assert_exactly_pruned_are_zero(result_a.final, run_a.mask)


def test_pruned_weights_stay_exactly_zero_with_weight_decay(mnist, run_a):
    """Adam's moments and L2 decay regrow pruned weights unless every step keeps them at 0."""
    config = TrainConfig(iterations=CONFIG.iterations, lr=CONFIG.lr, eval_every=CONFIG.eval_every, weight_decay=1e-2)
    result = train_stacked(models.build("lenet"), [run_a], mnist, config, device=CPU, progress=False)[0]
    assert_exactly_pruned_are_zero(result.final, run_a.mask)


def test_an_optimiser_that_moves_pruned_weights_is_an_error_not_a_result(mnist, run_a, monkeypatch):
    """The mask lives in Adam's state; a step that breaks it must stop training, not be stored."""
    real_step = training._Adam.step

    def leaky_step(self):
        real_step(self)
        with torch.no_grad():
            for param in self.params:
                param.add_(1e-3)

    monkeypatch.setattr(training._Adam, "step", leaky_step)
    config = TrainConfig(iterations=2, lr=CONFIG.lr, eval_every=1)
    with pytest.raises(RuntimeError, match=r"pruned weights of fc\d.weight are not 0 after training"):
        train_stacked(models.build("lenet"), [run_a], mnist, config, device=CPU, progress=False)


def test_rewind_and_early_stop_weights_respect_the_mask(result_a, run_a):
    assert_exactly_pruned_are_zero(result_a.rewind, run_a.mask)


def test_negative_survivors_train(result_a, run_a):
    """The `w < eps` bug froze every negative weight. Here negative survivors move as often as
    positive ones (only weights fed by a unit that never fired in 60 steps stay put)."""
    for name, m in run_a.mask.items():
        moved = result_a.final[name] != run_a.init[name]
        negative, positive = (m > 0) & (run_a.init[name] < 0), (m > 0) & (run_a.init[name] > 0)
        share_negative, share_positive = (moved[group].float().mean().item() for group in (negative, positive))
        assert share_negative > 0.8, name
        assert share_negative == pytest.approx(share_positive, abs=0.03), name


def test_biases_train(result_a, run_a):
    assert not torch.equal(result_a.final["fc1.bias"], run_a.init["fc1.bias"])


def test_squared_updates_are_zero_exactly_on_pruned_weights(result_a, run_a):
    for name, m in run_a.mask.items():
        updates = result_a.squared_updates[name]
        assert torch.count_nonzero(updates * (1 - m)) == 0, name
        survivors = m > 0
        moved = result_a.final[name][survivors] != run_a.init[name][survivors]
        assert torch.equal(updates[survivors] > 0, moved), f"{name}: recorded updates disagree with movement"


def test_squared_updates_sum_the_square_of_every_step(mnist, run_a):
    """Karnin's Σ(Δw)² over steps, checked against the weights after 1, 2 and 3 steps (the same run
    trained 1, 2 and 3 iterations passes through the same weights): summed in step order, it is
    exact; the square of the total change alone would differ."""
    start = {n: w * run_a.mask[n] if n in run_a.mask else w for n, w in run_a.init.items()}  # pruned: 0 from the start
    weights, tracked = [start], None
    for steps in (1, 2, 3):
        config = TrainConfig(iterations=steps, lr=CONFIG.lr, eval_every=steps)
        result = train_stacked(
            models.build("lenet"), [run_a], mnist, config, device=CPU, progress=False, track_updates=True
        )[0]
        weights.append(result.final)
        tracked = result.squared_updates
    for name in tracked:
        expected = torch.zeros_like(tracked[name])
        for before, after in zip(weights, weights[1:]):
            expected += (after[name] - before[name]) ** 2
        assert torch.equal(tracked[name], expected), name
        assert not torch.equal(tracked[name], (weights[-1][name] - weights[0][name]) ** 2), name


# --- stacking, fresh optimizer, seeds --------------------------------------------------------


def test_stack_of_one_equals_the_textbook_loop(mnist, run_a, result_a):
    model = models.build("lenet")
    model.load_state_dict(run_a.init)
    reference = train_one(model, run_a.mask, mnist, CONFIG, data_seed=run_a.data_seed)
    assert_same_run(result_a, reference, atol=1e-5)


def test_stacking_does_not_change_results(mnist, stacked_results, run_a):
    # result_a tracks updates, which keeps the dense kernels; A alone without tracking takes A's own path
    alone = train_stacked(models.build("lenet"), [run_a], mnist, CONFIG, device=CPU, progress=False)[0]
    assert_same_run(stacked_results[0], alone, atol=0)  # exactly: the same seed gives the same numbers


def grey_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("name", ["lenet", "toy-mlp", "conv2"])
def test_a_run_gets_the_same_numbers_whatever_shares_its_stack(name, mnist):
    """Bit for bit: a run alone, beside one other run, or third of four. The store keys a run by its
    own configuration only, so the notebooks (two seeds per stack) and the command line (ten at the
    control rounds) must agree; before the fix, 19 of the lecture experiment's 56 runs differed."""
    if name == "conv2":  # conv nets go through autograd, one run at a time; tiny grey images keep it quick
        splits = Splits("grey", *grey_images(600, 0), *grey_images(100, 1), *grey_images(100, 2))
        config = TrainConfig(iterations=6, lr=3e-4, eval_every=3)
    else:
        splits = mnist if name == "lenet" else data.load("moons")
        config = TrainConfig(iterations=60, lr=1.2e-3, eval_every=20)
    model = models.build(name, seed=0, in_shape=tuple(splits.x_train.shape[1:]))
    runs = []
    for seed in range(4):
        init = {
            n: p.detach().clone()
            for n, p in models.build(name, seed=seed, in_shape=tuple(splits.x_train.shape[1:])).named_parameters()
        }
        runs.append(RunSpec(init, random_mask(init, 0.3 + 0.1 * seed, seed=20 + seed), data_seed=seed))
    alone = train_stacked(model, [runs[0]], splits, config, device=CPU, progress=False)[0]
    with_one = train_stacked(model, [runs[1], runs[0]], splits, config, device=CPU, progress=False)[1]
    third_of_four = train_stacked(
        model, [runs[2], runs[3], runs[0], runs[1]], splits, config, device=CPU, progress=False
    )[2]
    for result in (with_one, third_of_four):
        assert_same_run(result, alone, atol=0)


def test_runs_in_a_stack_are_independent(stacked_results, run_b):
    a, b, a_reshuffled = stacked_results
    assert_exactly_pruned_are_zero(b.final, run_b.mask)
    assert not torch.allclose(a.final["fc1.weight"], a_reshuffled.final["fc1.weight"]), "data_seed was ignored"
    assert a.curve["val_loss"].iloc[-1] != a_reshuffled.curve["val_loss"].iloc[-1]


# --- the sparse first layer (at most SPARSE_DENSITY of it left, on the CPU) ----------------------


@pytest.fixture(scope="module")
def sparse_runs():
    """LeNet with 4.9% of every layer left (the first layer trains sparsely; 11,525 survivors there,
    so the CSR rows need padding entries), three seeds."""
    runs = []
    for seed in range(3):
        init = theta0(seed)
        runs.append(RunSpec(init, random_mask(init, 0.049, seed=30 + seed), data_seed=seed))
    return runs


def test_only_sparse_enough_mlps_on_the_cpu_take_the_sparse_path(run_a, sparse_runs):
    lenet, cpu = models.build("lenet"), torch.device("cpu")
    assert training._path_of(lenet, sparse_runs[0], cpu) == training._Path(train=True, evaluate=True)
    init = theta0(0)
    for remaining, path in ((0.45, training._Path(train=True)), (0.6, training._Path())):  # the two crossovers
        assert training._path_of(lenet, RunSpec(init, random_mask(init, remaining, seed=1), 0), cpu) == path
    assert not training._path_of(lenet, sparse_runs[0], torch.device("meta")).train  # measured on CPUs only
    init = theta0(0, "conv2")
    conv = RunSpec(init, random_mask(init, 0.05, seed=1), data_seed=0)
    assert not training._path_of(models.build("conv2"), conv, cpu).train


def test_sparse_first_layer_trains_like_the_textbook_loop(mnist, sparse_runs):
    """Same protocol, another summation order: the numbers agree to float rounding, and pruned
    weights (and the CSR padding entries at pruned positions) stay exactly 0."""
    run = sparse_runs[0]
    result = train_stacked(
        models.build("lenet"), [run], mnist, CONFIG, rewind_iteration=REWIND_AT, device=CPU, progress=False
    )[0]
    model = models.build("lenet")
    model.load_state_dict(run.init)
    reference = train_one(model, run.mask, mnist, CONFIG, data_seed=run.data_seed)
    assert_same_run(result, reference, atol=1e-5)
    for weights in (result.final, result.rewind):
        assert_exactly_pruned_are_zero(weights, run.mask)


def test_sparse_first_layer_keeps_pruned_weights_at_zero_with_weight_decay(mnist, sparse_runs):
    config = TrainConfig(iterations=CONFIG.iterations, lr=CONFIG.lr, eval_every=CONFIG.eval_every, weight_decay=1e-2)
    result = train_stacked(models.build("lenet"), sparse_runs[:1], mnist, config, device=CPU, progress=False)[0]
    assert_exactly_pruned_are_zero(result.final, sparse_runs[0].mask)


def test_sparse_first_layer_is_used_and_rounds_differently_from_dense(mnist, sparse_runs, monkeypatch):
    sparse = train_stacked(models.build("lenet"), sparse_runs[:1], mnist, CONFIG, device=CPU, progress=False)[0]
    monkeypatch.setitem(training.SPARSE_DENSITY, "train", 0.0)
    monkeypatch.setitem(training.SPARSE_DENSITY, "evaluate", 0.0)
    dense = train_stacked(models.build("lenet"), sparse_runs[:1], mnist, CONFIG, device=CPU, progress=False)[0]
    assert not torch.equal(sparse.final["fc1.weight"], dense.final["fc1.weight"]), "the sparse path was not taken"
    assert_same_run(sparse, dense, atol=1e-5)


def test_a_sparse_run_gets_the_same_numbers_whatever_shares_its_stack(mnist, sparse_runs, run_b):
    """Bit for bit: alone, beside another sparse run, third of three, or beside a dense run (which
    then trains in its own stack, so the choice of kernels is the run's own)."""
    model = models.build("lenet")
    alone = train_stacked(model, sparse_runs[:1], mnist, CONFIG, device=CPU, progress=False)[0]
    with_one = train_stacked(model, [sparse_runs[1], sparse_runs[0]], mnist, CONFIG, device=CPU, progress=False)[1]
    third = train_stacked(
        model, [sparse_runs[2], sparse_runs[1], sparse_runs[0]], mnist, CONFIG, device=CPU, progress=False
    )[2]
    mixed = train_stacked(model, [run_b, sparse_runs[0]], mnist, CONFIG, device=CPU, progress=False)
    dense_alone = train_stacked(model, [run_b], mnist, CONFIG, device=CPU, progress=False)[0]
    for result in (with_one, third, mixed[1]):
        assert_same_run(result, alone, atol=0)
    assert_same_run(mixed[0], dense_alone, atol=0)


@pytest.mark.parametrize("name, n_in", [("lenet", 784), ("toy-mlp", 2)])
def test_hand_written_mlp_gradients_equal_autograd(name, n_in):
    """The stacked MLP's backward pass is written by hand for speed; autograd on each run alone is the reference."""
    runs = [RunSpec(theta0(seed, name), Mask.ones_like(theta0(seed, name)), seed) for seed in (0, 1, 2)]
    stack = _Stack(models.build(name), runs, torch.device(CPU))
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(3, 60, n_in, generator=g), torch.randint(0, 2, (3, 60), generator=g)
    logits = stack.gradients(x, y)
    for k, run in enumerate(runs):
        model = models.build(name)
        model.load_state_dict(run.init)
        reference = model(x[k])
        torch.nn.functional.cross_entropy(reference, y[k]).backward()
        assert torch.allclose(logits[k], reference, atol=1e-5)
        for param_name, param in model.named_parameters():
            assert torch.allclose(stack.grads[param_name][k], param.grad, rtol=1e-4, atol=1e-7), param_name


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_direct_fused_adam_equals_torch_adam_with_the_mask_reapplied(weight_decay):
    """``_Adam`` calls the fused kernel without torch.optim's bookkeeping and keeps pruned weights
    at 0 through its state instead of a mask pass: it must give torch.optim.Adam's numbers with
    the mask multiplied in after every step, and pruned weights exactly 0 after every step."""
    config = TrainConfig(iterations=10, lr=1e-3, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(4, 30, generator=g) < 0.5).float()
    bias = torch.randn(4, 5, generator=g)
    ours = [torch.randn(4, 30, generator=g) * mask, bias.clone()]
    theirs = [p.clone().requires_grad_() for p in ours]
    grads = [torch.zeros_like(p) for p in ours]
    adam = _Adam(ours, grads, [mask, None], config)
    reference = torch.optim.Adam(theirs, lr=config.lr, weight_decay=weight_decay)
    for _ in range(20):
        for grad, their in zip(grads, theirs):
            grad.copy_(torch.randn(grad.shape, generator=g))
            their.grad = grad.clone()
        adam.step()
        reference.step()
        with torch.no_grad():
            theirs[0].mul_(mask)
        assert torch.count_nonzero(ours[0] * (1 - mask)) == 0
        for mine, their in zip(ours, theirs):
            assert torch.allclose(mine, their.detach(), rtol=0, atol=1e-7)
    assert not torch.equal(ours[1], bias), "unmasked parameters train"


def refuse_fused_adam(*args, **kwargs):
    raise NotImplementedError("Could not run 'aten::_fused_adam_' with arguments from the 'CPU' backend")


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_public_adam_gives_the_fused_kernels_numbers_and_keeps_pruned_weights_at_zero(weight_decay, monkeypatch):
    """Where the private kernel refuses the tensors, ``_Adam`` steps with public ops: the same
    numbers (bit for bit on the 2-core machine; asserted to 1e-6 relative after 30 steps, as
    another CPU's vector code may round the moving average differently), and pruned weights
    whose gradient is 0 or not stay exactly 0 with their second moment at +inf (no 0·inf NaN)."""
    config = TrainConfig(iterations=30, lr=1e-3, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(4, 32, generator=g) < 0.5).float()
    start = [torch.randn(4, 32, generator=g) * mask, torch.randn(4, 16, generator=g)]
    steps = []
    for _ in range(30):
        grad = torch.randn(4, 32, generator=g)
        grad[:2] *= mask[:2]  # half the pruned weights get no gradient, half a nonzero one
        steps.append([grad, torch.randn(4, 16, generator=g)])

    def train():
        params, grads = [p.clone() for p in start], [torch.zeros_like(p) for p in start]
        adam = _Adam(params, grads, [mask, None], config)
        for step_grads in steps:
            for grad, new in zip(grads, step_grads):
                grad.copy_(new)
            adam.step()
        return adam, params

    fused, fused_params = train()
    monkeypatch.setattr(training, "_FALLBACK_WARNED", set())
    monkeypatch.setattr(torch, "_fused_adam_", refuse_fused_adam)
    with pytest.warns(RuntimeWarning, match="NotImplementedError.*public torch ops"):
        public, public_params = train()
    assert fused.fused and not public.fused
    for mine, reference in zip(public_params, fused_params):
        torch.testing.assert_close(mine, reference, rtol=1e-6, atol=1e-8)
    assert torch.count_nonzero(public_params[0] * (1 - mask)) == 0
    assert torch.isinf(public.exp_avg_sqs[0][mask == 0]).all()
    for state in (*public_params, *public.exp_avgs, *public.exp_avg_sqs):
        assert not torch.isnan(state).any()
    assert not torch.equal(public_params[1], start[1]), "unmasked parameters train"


def test_without_the_private_fused_kernel_training_falls_back_once_with_the_same_numbers(
    mnist, run_a, sparse_runs, monkeypatch
):
    """A torch without ``torch._fused_adam_``: training (a dense and a sparse-first-layer stack,
    30 iterations) gives the fused path's numbers to 1e-6 relative on the weights (bit for bit
    on the 2-core machine), pruned weights stay exactly 0, and one warning says why, however
    many optimizers are made."""
    splits = mnist.head(3000, 300, 300)
    config = TrainConfig(iterations=30, lr=CONFIG.lr, eval_every=10, weight_decay=1e-2)
    runs = [run_a, sparse_runs[0]]  # two stacks, so two optimizers

    def train():
        return train_stacked(models.build("lenet"), runs, splits, config, device=CPU, progress=False)

    fused = train()
    monkeypatch.setattr(training, "_FALLBACK_WARNED", set())
    monkeypatch.delattr(torch, "_fused_adam_")
    with pytest.warns(RuntimeWarning) as caught:
        public, again = train(), train()
    said = [str(w.message) for w in caught if "_fused_adam_" in str(w.message)]
    assert len(said) == 1 and "has no torch._fused_adam_" in said[0] and "\n" not in said[0], said
    for result, reference, run in zip(public, fused, runs):
        assert_same_run(result, reference, atol=1e-6)
        for name, weight in reference.final.items():
            torch.testing.assert_close(result.final[name], weight, rtol=1e-6, atol=1e-8)
        assert_exactly_pruned_are_zero(result.final, run.mask)
    for result, first in zip(again, public):
        assert_same_run(result, first, atol=0)


def test_every_call_starts_fresh_and_same_seed_gives_same_numbers(mnist, run_a, result_a):
    """A second call from the same start must repeat the first exactly: no optimizer state survives."""
    again = tracked_a(mnist, run_a, rewind_iteration=REWIND_AT)  # as result_a: the same kernels
    assert_same_run(again, result_a, atol=0.0)
    assert again.curve.equals(result_a.curve)


def test_training_does_not_modify_its_inputs(run_a):
    assert torch.equal(run_a.init["fc1.weight"], theta0(0)["fc1.weight"])


# --- the curve and early stopping ------------------------------------------------------------


def test_curve_has_every_evaluation_point(result_a):
    assert list(result_a.curve.columns) == CURVE_COLUMNS
    assert result_a.curve["iteration"].tolist() == CONFIG.eval_points() == [0, 20, 40, 60]
    assert result_a.curve["val_acc"].iloc[-1] > 0.8  # it learned something
    assert result_a.final_test_acc == result_a.curve["test_acc"].iloc[-1]
    assert 0.0 <= result_a.final_train_acc <= 1.0 and result_a.final_train_loss > 0


def test_early_stop_is_the_argmin_of_validation_loss(result_a):
    curve = result_a.curve
    best = curve["val_loss"].idxmin()
    assert result_a.early_stop_iteration == curve["iteration"][best]
    assert result_a.test_acc_at_early_stop == pytest.approx(curve["test_acc"][best], abs=1e-6)
    assert result_a.test_loss_at_early_stop == pytest.approx(curve["test_loss"][best], abs=1e-5)


@pytest.fixture(scope="module")
def adversarial_moons():
    """Moons whose test set is the validation set with every label flipped: a test-selected
    early stop would pick the worst validation point, so the two argmins differ."""
    moons = data.load("moons")
    return Splits("moons", moons.x_train, moons.y_train, moons.x_val, moons.y_val, moons.x_val, 1 - moons.y_val)


def train_moons(splits, test_every=None):
    config = TrainConfig(iterations=200, lr=1e-2, eval_every=10, test_every=test_every)
    init = theta0(0, "toy-mlp")
    run = RunSpec(init, Mask.ones_like(init), data_seed=0)
    return train_stacked(models.build("toy-mlp"), [run], splits, config, device=CPU, progress=False)[0]


def test_early_stop_follows_validation_not_test(adversarial_moons):
    result = train_moons(adversarial_moons)
    curve = result.curve
    by_val = int(curve["iteration"][curve["val_loss"].idxmin()])
    by_test = int(curve["iteration"][curve["test_loss"].idxmin()])
    assert by_val != by_test
    assert result.early_stop_iteration == by_val
    row = curve[curve["iteration"] == by_val].iloc[0]
    assert result.test_acc_at_early_stop == pytest.approx(row["test_acc"], abs=1e-6)
    assert result.test_acc_at_early_stop < 0.5  # flipped labels: the test accuracy is the val error


def test_sparse_test_evaluation_keeps_the_early_stop_exact(adversarial_moons):
    """With test_every > eval_every the curve skips test points, yet the early-stop numbers are exact."""
    every, sparse = train_moons(adversarial_moons), train_moons(adversarial_moons, test_every=30)
    assert sparse.curve["test_acc"].isna().sum() > 0
    assert sparse.early_stop_iteration == every.early_stop_iteration
    assert sparse.test_acc_at_early_stop == every.test_acc_at_early_stop
    assert sparse.test_loss_at_early_stop == pytest.approx(every.test_loss_at_early_stop, abs=1e-6)


# --- rewinding -------------------------------------------------------------------------------


def test_rewind_captures_the_weights_at_iteration_k(mnist, run_a, result_a):
    short = TrainConfig(iterations=REWIND_AT, lr=CONFIG.lr, eval_every=CONFIG.eval_every)
    stopped = tracked_a(mnist, run_a, short)  # as result_a
    for name, weight in stopped.final.items():
        assert torch.equal(result_a.rewind[name], weight), name
    assert not torch.equal(result_a.rewind["fc1.weight"], result_a.final["fc1.weight"])


def test_rewind_at_zero_is_the_masked_start():
    moons = data.load("moons")
    init = theta0(0, "toy-mlp")
    mask = random_mask(init, 0.5, seed=0)
    config = TrainConfig(iterations=20, lr=1e-2, eval_every=10)
    result = train_stacked(
        models.build("toy-mlp"), [RunSpec(init, mask, 0)], moons, config, rewind_iteration=0, device=CPU, progress=False
    )[0]
    for name, weight in init.items():
        expected = weight * mask[name] if name in mask else weight
        assert torch.equal(result.rewind[name], expected), name


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"iterations": 0}, "iterations"),
        ({"iterations": -5}, "iterations"),
        ({"iterations": 2.5}, "iterations"),
        ({"batch_size": 0}, "batch_size"),
        ({"eval_every": 0}, "eval_every"),
        ({"test_every": 150}, "test_every"),
        ({"lr": 0.0}, "learning rate"),
        ({"lr": -1e-3}, "learning rate"),
        ({"weight_decay": -0.1}, "weight_decay"),
    ],
)
def test_train_config_refuses_bad_values(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**(dict(iterations=1000, lr=1e-3, eval_every=100) | changes))


def test_batch_larger_than_the_training_set_is_a_config_error():
    moons = data.load("moons")  # 1,000 training points
    init = theta0(0, "toy-mlp")
    config = TrainConfig(iterations=5, lr=1e-2, batch_size=2000, eval_every=5)
    with pytest.raises(ConfigError, match="batch size 2000"):
        train_stacked(
            models.build("toy-mlp"), [RunSpec(init, Mask.ones_like(init), 0)], moons, config, device=CPU, progress=False
        )
    with pytest.raises(ConfigError, match="batch size 2000"):
        train_one(models.build("toy-mlp"), Mask.ones_like(init), moons, config, data_seed=0)


def test_train_stacked_refuses_bad_runs(mnist, run_a):
    model = models.build("lenet")
    with pytest.raises(ConfigError, match="no runs"):
        train_stacked(model, [], mnist, CONFIG, device=CPU, progress=False)
    with pytest.raises(ConfigError, match="rewind iteration"):
        train_stacked(model, [run_a], mnist, CONFIG, rewind_iteration=CONFIG.iterations + 1, device=CPU, progress=False)
    wrong = RunSpec(run_a.init, Mask.ones_like(theta0(0, "toy-mlp")), 0)
    with pytest.raises(ConfigError, match="does not match"):
        train_stacked(model, [wrong], mnist, CONFIG, device=CPU, progress=False)
