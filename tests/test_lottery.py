"""Tests of ticketlab.lottery: resetting restores θ0 exactly, every control differs from the ticket
in exactly the one way it should, controls run later without retraining the ticket, and a
resumed experiment gives the same tables as an uninterrupted one.

Two small experiments (LeNet, 40 iterations, rounds 0-2, seeds 0 and 1, every condition at
round 2) are trained once per module into temporary stores: one straight through, one in
three steps. Evaluations use 1K validation and 2K test images to keep the file fast.
"""

import pytest
import torch

from ticketlab import data, lottery, models
from ticketlab.conditions import CONDITIONS, CONTROLS
from ticketlab.errors import ConfigError
from ticketlab.lottery import ExperimentConfig, run_experiment
from ticketlab.pruning import counts_after_rounds, prune_magnitude, prune_one_shot
from ticketlab.store import Store, run_key

CPU = "cpu"  # exact-equality checks need one deterministic device, whatever the machine has
SEEDS = (0, 1)
CONFIG = ExperimentConfig.at_scale(
    "smoke", iterations=40, eval_every=20, rounds=2, seeds=SEEDS, conditions=CONDITIONS, control_rounds=(2,)
)
TICKET_ONLY = CONFIG.replace(conditions=("ticket",), control_rounds=None)
LENET_SIZES = {"fc1.weight": 784 * 300, "fc2.weight": 300 * 100, "fc3.weight": 100 * 10}


class Recorder:
    """Wraps the engine's training and run-spec construction to see what an experiment trains."""

    def __init__(self, monkeypatch):
        self.stacks: list[int] = []
        self.iterations: list[int] = []
        self.specs: dict[tuple[str, int, int], object] = {}
        train, build_spec = lottery.train_stacked, lottery.start_of

        def record_training(model, runs, data, config, *args, **kwargs):
            self.stacks.append(len(runs))
            self.iterations.append(config.iterations)
            return train(model, runs, data, config, *args, **kwargs)

        def record_spec(config, store, condition, seed, round_):
            spec = build_spec(config, store, condition, seed, round_)
            self.specs[condition, seed, round_] = spec
            return spec

        monkeypatch.setattr(lottery, "train_stacked", record_training)
        monkeypatch.setattr(lottery, "start_of", record_spec)


@pytest.fixture(scope="module")
def monkeymodule():
    """A monkeypatch that lasts for the whole module, for the module-scoped experiments."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module", autouse=True)
def small_evaluation_sets(monkeymodule):
    """Every experiment in this module loads MNIST with smaller validation and test sets."""
    full = data.load("mnist")
    small = full.head(val=1000, test=2000)
    real_load = data.load

    def load(name="mnist", root=None):
        return small if name == "mnist" else real_load(name, root)

    monkeymodule.setattr(data, "load", load)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The whole experiment in one call, with every built run spec recorded."""
    with pytest.MonkeyPatch.context() as patch:
        recorder = Recorder(patch)
        results = run_experiment(CONFIG, Store(tmp_path_factory.mktemp("straight")), device=CPU, progress=False)
    return results, recorder


@pytest.fixture(scope="module")
def in_steps(tmp_path_factory):
    """The same experiment interrupted twice: tickets to round 1, tickets to round 2, then controls."""
    store = Store(tmp_path_factory.mktemp("in_steps"))
    run_experiment(TICKET_ONLY.replace(rounds=1), store, device=CPU, progress=False)
    with pytest.MonkeyPatch.context() as patch:
        resumed = Recorder(patch)
        run_experiment(TICKET_ONLY, store, device=CPU, progress=False)
    stamps = {path: path.stat().st_mtime_ns for path in store.root.glob("runs/*/*")}
    with pytest.MonkeyPatch.context() as patch:
        controls = Recorder(patch)
        results = run_experiment(CONFIG, store, device=CPU, progress=False)
    return results, resumed, controls, stamps


def spec_of(straight, condition, seed, round_):
    return straight[1].specs[condition, seed, round_]


def counts(mask) -> dict[str, int]:
    return {n: int(m.sum()) for n, m in mask.items()}


def theta0(seed: int, model: str = "lenet") -> dict[str, torch.Tensor]:
    """θ0 straight from the model builder, independent of the engine's own helper."""
    return {n: p.detach().clone() for n, p in models.build(model, seed=seed).named_parameters()}


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    return torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1].item()


def assert_equal_tensors(actual: dict, expected: dict, names=None):
    for name in names or expected:
        assert torch.equal(actual[name], expected[name]), name


# --- the ticket -------------------------------------------------------------------------------


def test_round_zero_trains_the_dense_network_from_theta0(straight):
    results, _ = straight
    for seed in SEEDS:
        spec = spec_of(straight, "ticket", seed, 0)
        assert_equal_tensors(spec.init, theta0(seed))
        assert_equal_tensors(results.initial_weights(seed), theta0(seed))
        assert spec.mask.density == 1.0 and spec.data_seed == seed
    dense = results.summary[results.summary["round"] == 0]
    assert dense["percent_remaining"].tolist() == [100.0, 100.0]


@pytest.mark.parametrize("round_", [1, 2])
def test_each_round_prunes_the_trained_ticket_and_resets_to_theta0(straight, round_):
    results, _ = straight
    rates = CONFIG.rates()
    for seed in SEEDS:
        spec = spec_of(straight, "ticket", seed, round_)
        dense_init = theta0(seed)
        assert_equal_tensors(spec.init, dense_init)  # every survivor (and bias) back to θ0, bit for bit
        previous = results.mask(seed, round_ - 1)
        expected = prune_magnitude(results.final_weights(seed, round_ - 1), previous, rates)
        assert_equal_tensors(spec.mask, expected)
        assert_equal_tensors(results.mask(seed, round_), expected)
        assert counts(expected) == counts_after_rounds(LENET_SIZES, rates, round_)


def test_stored_tickets_have_exactly_their_pruned_weights_at_zero(straight):
    results, _ = straight
    for seed in SEEDS:
        for round_ in range(CONFIG.rounds + 1):
            mask, final = results.mask(seed, round_), results.final_weights(seed, round_)
            for name, m in mask.items():
                assert torch.count_nonzero(final[name]) == int(m.sum()), (seed, round_, name)


def test_summary_reports_the_ladder(straight):
    results, _ = straight
    tickets = results.summary[results.summary["condition"] == "ticket"].sort_values(["seed", "round"])
    ladder = [100.0 * sum(counts_after_rounds(LENET_SIZES, CONFIG.rates(), r).values()) / 266_200 for r in range(3)]
    assert tickets["percent_remaining"].tolist() == pytest.approx(ladder * 2)


# --- the controls -----------------------------------------------------------------------------


def test_reinit_keeps_the_mask_and_draws_new_values(straight):
    for seed in SEEDS:
        ticket, reinit = spec_of(straight, "ticket", seed, 2), spec_of(straight, "reinit", seed, 2)
        dense_init = theta0(seed)
        assert_equal_tensors(reinit.mask, ticket.mask)
        for name in ticket.mask:
            assert abs(correlation(reinit.init[name], dense_init[name])) < 0.1, f"{name}: values not redrawn"
            assert reinit.init[name].std().item() == pytest.approx(dense_init[name].std().item(), rel=0.1), name
    assert not torch.equal(
        spec_of(straight, "reinit", 0, 2).init["fc1.weight"], spec_of(straight, "reinit", 1, 2).init["fc1.weight"]
    )


def test_random_prune_keeps_per_layer_counts_and_moves_the_mask(straight):
    for seed in SEEDS:
        ticket, random = spec_of(straight, "ticket", seed, 2), spec_of(straight, "random-prune", seed, 2)
        assert counts(random.mask) == counts(ticket.mask)
        for name, m in ticket.mask.items():
            overlap = (random.mask[name] * m).sum() / m.sum()
            assert overlap < 0.9, f"{name}: the random mask is mostly the ticket's"
        assert_equal_tensors(random.init, theta0(seed))


def test_sign_reinit_keeps_theta0_signs_with_new_magnitudes(straight):
    for seed in SEEDS:
        ticket, signed = spec_of(straight, "ticket", seed, 2), spec_of(straight, "sign-reinit", seed, 2)
        dense_init = theta0(seed)
        assert_equal_tensors(signed.mask, ticket.mask)
        for name in ticket.mask:
            assert torch.equal(torch.sign(signed.init[name]), torch.sign(dense_init[name])), name
            assert abs(correlation(signed.init[name].abs(), dense_init[name].abs())) < 0.1, f"{name}: magnitudes kept"


def test_one_shot_prunes_the_dense_network_to_the_iterative_counts(straight):
    results, _ = straight
    for seed in SEEDS:
        ticket, one_shot = spec_of(straight, "ticket", seed, 2), spec_of(straight, "one-shot", seed, 2)
        assert counts(one_shot.mask) == counts(ticket.mask)
        assert_equal_tensors(one_shot.mask, prune_one_shot(results.final_weights(seed, 0), CONFIG.rates(), 2))
        assert any(not torch.equal(one_shot.mask[n], ticket.mask[n]) for n in ticket.mask)
        assert_equal_tensors(one_shot.init, theta0(seed))


def test_controls_run_only_at_control_rounds_and_every_round_is_one_stack(straight):
    results, recorder = straight
    assert recorder.stacks == [2, 2, 2 * len(CONDITIONS)]
    assert {c for c, _, r in recorder.specs if r < 2} == {"ticket"}
    assert len(results.summary) == 2 * 3 + 2 * len(CONTROLS)
    controls = results.summary[results.summary["condition"] != "ticket"]
    assert set(controls["round"]) == {2}


def test_asking_for_a_run_the_experiment_does_not_have_is_a_one_line_error(straight):
    results, _ = straight
    with pytest.raises(ConfigError, match="'reinit' did not run at round 1; it ran at rounds \\[2\\]"):
        results.mask(0, 1, "reinit")
    with pytest.raises(ConfigError, match="no 'ticket' run of seed 7"):
        results.mask(7, 1)


def test_tables_are_tidy(straight):
    results, _ = straight
    assert list(results.curves.columns[:6]) == ["model", "dataset", "condition", "seed", "round", "percent_remaining"]
    assert {"iteration", "val_loss", "val_acc", "test_loss", "test_acc"} <= set(results.curves.columns)
    assert len(results.curves) == len(results.summary) * len(CONFIG.train_config().eval_points())
    reported = {
        "early_stop_iteration",
        "test_acc_at_early_stop",
        "final_test_acc",
        "final_train_acc",
        "final_train_loss",
    }
    assert reported <= set(results.summary.columns)


# --- resuming and reproducibility -------------------------------------------------------------


def test_controls_run_later_without_retraining_the_ticket(in_steps):
    results, resumed, controls, stamps = in_steps
    assert len(stamps) == 2 * 3 * 5  # seeds x ticket rounds x files (spec, curve, mask, final, summary)
    assert resumed.stacks == [2]  # only round 2's tickets: rounds 0 and 1 were loaded
    assert controls.stacks == [2 * len(CONTROLS)]
    assert {condition for condition, _, _ in controls.specs} == set(CONTROLS)
    changed = [path for path, stamp in stamps.items() if path.stat().st_mtime_ns != stamp]
    assert not changed, f"stored ticket files were rewritten: {changed[:3]}"


def test_resumed_experiment_equals_uninterrupted(straight, in_steps):
    keys = ["condition", "seed", "round"]
    straight_summary = straight[0].summary.sort_values(keys).reset_index(drop=True)
    steps_summary = in_steps[0].summary.sort_values(keys).reset_index(drop=True)
    assert list(straight_summary.columns) == list(steps_summary.columns)
    assert straight_summary[keys].equals(steps_summary[keys])
    numbers = straight_summary.select_dtypes("number").columns
    assert straight_summary[numbers].values == pytest.approx(steps_summary[numbers].values, abs=1e-6)
    curve_keys = keys + ["iteration"]
    a = straight[0].curves.sort_values(curve_keys).reset_index(drop=True)
    b = in_steps[0].curves.sort_values(curve_keys).reset_index(drop=True)
    assert a.select_dtypes("number").values == pytest.approx(b.select_dtypes("number").values, abs=1e-6)


def test_seeds_give_different_networks(straight):
    summary = straight[0].summary
    dense = summary[summary["round"] == 0].set_index("seed")
    assert dense.loc[0, "val_loss_min"] != dense.loc[1, "val_loss_min"]


def test_a_finished_experiment_loads_without_training(straight, monkeypatch):
    results, _ = straight
    recorder = Recorder(monkeypatch)
    again = run_experiment(CONFIG, results.store, device=CPU, progress=False)
    assert recorder.stacks == []
    assert again.summary.equals(results.summary)


def test_rewinding_starts_later_rounds_from_theta_k(tmp_path, monkeypatch):
    """Late resetting: round 1 starts from the dense run's weights at iteration k, not from θ0."""
    config = ExperimentConfig.at_scale(
        "smoke",
        model="toy-mlp",
        iterations=40,
        eval_every=20,
        rounds=1,
        control_rounds=(1,),
        conditions=("ticket", "random-prune"),
        rewind_iteration=10,
    )
    recorder = Recorder(monkeypatch)
    store = Store(tmp_path)
    run_experiment(config, store, device=CPU, progress=False)
    rewind = store.tensors(run_key(config.run_spec("ticket", 0, 0)), "rewind")
    assert not torch.equal(rewind["fc1.weight"], theta0(0, "toy-mlp")["fc1.weight"])
    for condition in ("ticket", "random-prune"):
        assert_equal_tensors(recorder.specs[condition, 0, 1].init, rewind)


def test_rewinding_reuses_the_stored_dense_run_bit_for_bit(tmp_path, monkeypatch):
    """With the resetting experiment's round 0 stored, a rewinding experiment trains only the k
    iterations that give θk, and every stored number and tensor, in round 0 and after, equals the
    rewinding experiment trained from scratch."""
    config = ExperimentConfig.at_scale(
        "smoke",
        model="toy-mlp",
        iterations=40,
        eval_every=20,
        rounds=1,
        seeds=SEEDS,
        control_rounds=(1,),
        conditions=("ticket", "reinit"),
        rewind_iteration=10,
    )
    scratch = Store(tmp_path / "scratch")
    run_experiment(config, scratch, device=CPU, progress=False)
    shared = Store(tmp_path / "shared")
    run_experiment(config.replace(rewind_iteration=0, rounds=0, control_rounds=()), shared, device=CPU, progress=False)
    recorder = Recorder(monkeypatch)
    run_experiment(config, shared, device=CPU, progress=False)
    assert recorder.iterations == [10, 40] and recorder.stacks == [2, 4]  # θk of both seeds, then round 1
    for condition, seed, round_ in [("ticket", s, 0) for s in SEEDS] + [
        (c, s, 1) for c in ("ticket", "reinit") for s in SEEDS
    ]:
        key = run_key(config.run_spec(condition, seed, round_))
        assert shared.summary(key) == scratch.summary(key)
        assert shared.curve(key).equals(scratch.curve(key))
        names = ["mask"] + (["final"] if condition == "ticket" else []) + (["rewind"] if round_ == 0 else [])
        for name in names:
            assert_equal_tensors(shared.tensors(key, name), scratch.tensors(key, name))


# --- configuration ----------------------------------------------------------------------------


def test_scales_are_presets_that_overrides_change(monkeypatch):
    lecture = ExperimentConfig.at_scale("lecture")
    assert (lecture.iterations, lecture.lr, lecture.batch_size, lecture.eval_every) == (3500, 1.2e-3, 60, 100)
    assert ExperimentConfig.at_scale("paper").iterations == 50_000
    assert ExperimentConfig.at_scale("smoke", iterations=None).iterations == lottery.SCALES["smoke"]["iterations"]
    assert ExperimentConfig.at_scale("smoke", model="toy-mlp").lr == models.REGISTRY["toy-mlp"].lr
    assert ExperimentConfig.at_scale("smoke", model="conv2").dataset == "cifar10"
    monkeypatch.setenv("TICKETLAB_SCALE", "smoke")
    assert lottery.scale_from_env() == "smoke"


def test_fewer_rounds_than_the_preset_keep_the_control_rounds_that_exist():
    """`--scale lecture --rounds 7` must not fail on the preset's control round 15."""
    assert ExperimentConfig.at_scale("lecture", rounds=7).control_rounds == (3, 7)
    assert ExperimentConfig.at_scale("smoke", rounds=1).control_rounds == (1,)
    assert ExperimentConfig.at_scale("lecture", rounds=7, control_rounds=(2,)).control_rounds == (2,)
    assert ExperimentConfig.at_scale("paper").control_rounds is None
    with pytest.raises(ConfigError, match="control round 9"):
        ExperimentConfig.at_scale("lecture", rounds=7, control_rounds=(9,))


def test_a_condition_can_run_at_its_own_rounds():
    """The lecture's sign-reinit and one-shot skip 51.3, 13.5 and 10.7%, where no claim grades them."""
    config = ExperimentConfig.at_scale("lecture", conditions=lottery.CONDITIONS)
    assert config.rounds_of("ticket") == tuple(range(config.rounds + 1))
    assert config.rounds_of("reinit") == config.control_rounds == (3, 7, 9, 10, 15)
    assert config.rounds_of("one-shot") == config.rounds_of("sign-reinit") == (7, 15)
    assert (
        {c for c, _ in config.runs_at(3)} == {c for c, _ in config.runs_at(9)} == {"ticket", "reinit", "random-prune"}
    )
    assert {c for c, _ in config.runs_at(15)} == set(lottery.CONDITIONS)
    assert {c for c, _ in config.runs_at(0)} == {"ticket"}
    assert config.describe_controls() == (
        "reinit at rounds [3, 7, 9, 10, 15]; random-prune at rounds [3, 7, 9, 10, 15]; "
        "sign-reinit at rounds [7, 15]; one-shot at rounds [7, 15]"
    )
    assert ExperimentConfig().describe_controls() == "no controls"
    assert ExperimentConfig.at_scale("lecture", rounds=7).rounds_of("one-shot") == (7,)
    assert config.replace(rounds=5, control_rounds=(3,)).rounds_of("sign-reinit") == ()  # 7 and 15 never come
    # your own control rounds hold for every control
    assert ExperimentConfig.at_scale("lecture", control_rounds=(2,)).rounds_of("one-shot") == (2,)
    with pytest.raises(ConfigError, match="'tickets', which is not a control"):
        ExperimentConfig(rounds_by_condition=(("tickets", (1,)),))


def test_ticket_is_always_a_condition():
    assert ExperimentConfig(conditions=("reinit",)).conditions == ("ticket", "reinit")


def test_derived_seeds_are_deterministic_and_distinct():
    assert lottery.derived_seed(0, "reinit", 2) == lottery.derived_seed(0, "reinit", 2)
    assert (
        len(
            {
                lottery.derived_seed(0, "reinit", 2),
                lottery.derived_seed(1, "reinit", 2),
                lottery.derived_seed(0, "reinit", 3),
                lottery.derived_seed(0, "random-prune", 2),
            }
        )
        == 4
    )


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(model="resnet"), "unknown model"),
        (dict(dataset="imagenet"), "unknown dataset"),
        (dict(dataset="cifar10"), "cannot train"),
        (dict(conditions=("ticket", "shuffle")), "unknown condition"),
        (dict(seeds=()), "seed list is empty"),
        (dict(rewind_iteration=5000), "rewind iteration"),
        (dict(control_rounds=(0,)), "control round 0"),
        (dict(control_rounds=(3, 17)), "control round 17"),
        (dict(rounds=-1), "rounds"),
        (dict(rounds=100), "100 rounds"),
        (dict(prune_rate=1.0), "outside"),
        (dict(iterations=0), "iterations"),
        (dict(lr=-1.0), "learning rate"),
    ],
)
def test_bad_configurations_are_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentConfig(**(dict(iterations=3000, rounds=16) | overrides))


def test_unknown_scale_or_model_in_at_scale():
    with pytest.raises(ConfigError, match="unknown scale"):
        ExperimentConfig.at_scale("huge")
    with pytest.raises(ConfigError, match="unknown model"):
        ExperimentConfig.at_scale("smoke", model="vgg19")


@pytest.mark.parametrize("model", ["conv2", "conv4", "conv6"])
def test_conv_nets_are_built_for_the_data_sets_channels(model):
    """θ0 and reinit's fresh weights come from the experiment's data set: one-channel filters for
    MNIST, three for CIFAR-10 (a three-channel θ0 on MNIST used to crash in evaluation)."""
    for dataset, channels in (("mnist", 1), ("fashion-mnist", 1), ("cifar10", 3)):
        config = ExperimentConfig.at_scale("smoke", model=model, dataset=dataset)
        assert lottery.initial_weights(model, 0, config.input_shape)["conv1.weight"].shape[1] == channels
        net = models.build(model, in_shape=config.input_shape)
        assert net(torch.zeros(2, *config.input_shape)).shape == (2, 10)


@pytest.mark.slow
def test_a_conv_net_trains_end_to_end_on_mnist(tmp_path, monkeypatch):
    """Conv-2 on MNIST's one-channel images through every path: θ0, reinit, training, evaluation.
    A slice of MNIST keeps it to seconds (every evaluation of all 70,000 images took minutes)."""
    mnist = data.load("mnist")
    small = mnist.head(1200, 500, 500)
    monkeypatch.setattr(lottery.datasets, "load", lambda name, root=None: small)
    config = ExperimentConfig.at_scale(
        "smoke",
        model="conv2",
        dataset="mnist",
        iterations=20,
        eval_every=20,
        rounds=1,
        conditions=("ticket", "reinit"),
        control_rounds=(1,),
    )
    results = run_experiment(config, Store(tmp_path), progress=False)
    assert sorted(zip(results.summary["condition"], results.summary["round"])) == [
        ("reinit", 1),
        ("ticket", 0),
        ("ticket", 1),
    ]
    assert results.initial_weights(0)["conv1.weight"].shape[1] == 1
    assert (results.summary["test_acc_at_early_stop"] > 0.2).all()  # 20 steps of Adam beat chance (10%)


def test_a_control_added_to_the_registry_alone_runs_in_an_experiment(monkeypatch, tmp_path):
    """Adding a control touches one place: its entry in conditions.REGISTRY (here: the ticket's
    mask on θ0 with every sign flipped)."""
    from ticketlab import conditions

    negated = conditions.Condition(
        "negated θ0",
        "do the signs of θ0 matter?",
        conditions.PREVIOUS_TICKET,
        lambda inputs: ({n: -w for n, w in inputs.start.items()}, inputs.ticket_mask),
    )
    monkeypatch.setitem(conditions.REGISTRY, "negated", negated)
    config = ExperimentConfig.at_scale(
        "smoke",
        model="toy-mlp",
        iterations=20,
        eval_every=10,
        rounds=2,
        conditions=("ticket", "negated"),
        control_rounds=(2,),
    )
    results = run_experiment(config, Store(tmp_path), device=CPU, progress=False)
    assert sorted(results.summary.loc[results.summary["condition"] == "negated", "round"]) == [2]
    ticket, control = results.mask(0, 2, "ticket"), results.mask(0, 2, "negated")
    assert all(torch.equal(ticket[n], control[n]) for n in ticket)


def test_global_pruning_ranks_all_layers_together_and_one_shot_follows_the_same_rule(tmp_path):
    """``pruning="global"``: each round keeps the top (1 - rate) of the network's survivors by |θj|,
    wherever they are, and the one-shot control prunes the dense network globally to that size."""
    config = ExperimentConfig.at_scale(
        "smoke",
        model="toy-mlp",
        iterations=20,
        eval_every=10,
        rounds=2,
        pruning="global",
        conditions=("ticket", "one-shot"),
        control_rounds=(2,),
    )
    results = run_experiment(config, Store(tmp_path), device=CPU, progress=False)
    total = sum(m.numel() for m in results.mask(0, 0).values())
    for round_ in (1, 2):
        previous, mask = results.mask(0, round_ - 1), results.mask(0, round_)
        survivors = int(sum(m.sum() for m in previous.values()))
        assert int(sum(m.sum() for m in mask.values())) == survivors - round(0.2 * survivors)
        final = results.final_weights(0, round_ - 1)
        kept = torch.cat([final[n][mask[n] > 0].abs() for n in mask])
        dropped = torch.cat([final[n][(previous[n] > 0) & (mask[n] == 0)].abs() for n in mask])
        assert kept.min() >= dropped.max()  # one ranking across layers, not one per layer
    one_shot = results.mask(0, 2, "one-shot")
    assert int(sum(m.sum() for m in one_shot.values())) == int(sum(m.sum() for m in results.mask(0, 2).values()))
    assert 0 < int(sum(m.sum() for m in one_shot.values())) < total


def test_the_paper_rule_keeps_every_stored_runs_key():
    """Runs of the layer-wise rule (the paper's) keep the keys they had before the rule was a field."""
    spec = CONFIG.run_spec("ticket", 0, 2)
    assert "pruning" not in spec
    assert "pruning" in CONFIG.replace(pruning="global").run_spec("ticket", 0, 2)
    assert CONFIG.replace(pruning="global").run_spec("ticket", 0, 0) == CONFIG.run_spec("ticket", 0, 0)
    with pytest.raises(ConfigError, match="unknown pruning rule 'magic'; choose one of layerwise, global"):
        CONFIG.replace(pruning="magic")
