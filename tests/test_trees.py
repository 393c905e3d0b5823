"""Tests for ticketlab.course.trees: reduced-error pruning, the cost-complexity path, Figure 1."""

import copy
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier

from ticketlab.course import trees
from ticketlab.errors import ConfigError


@pytest.fixture(scope="module")
def data():
    return trees.tree_data(seed=0)


@pytest.fixture(scope="module")
def full_tree(data):
    return trees.grow_full_tree(data, seed=0)


@pytest.fixture(scope="module")
def pruned_tree(full_tree, data):
    return trees.reduced_error_prune(full_tree, data.X_val, data.y_val)


@pytest.fixture(scope="module")
def path_df(data):
    return trees.cost_complexity_path(data, seed=0)


def val_acc(tree, data):
    return tree.score(data.X_val, data.y_val)


def cut(tree, node):
    """A copy of ``tree`` with ``node`` turned into a leaf."""
    cut_tree = copy.deepcopy(tree)
    cut_tree.tree_.children_left[node] = cut_tree.tree_.children_right[node] = trees.TREE_LEAF
    return cut_tree


# --- data -------------------------------------------------------------------------------


def test_tree_data_is_a_seeded_50_25_25_split(data):
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (600, 300, 300)
    assert data.X_train.shape == (600, trees.N_FEATURES) == (600, len(data.feature_names))
    assert data.class_names == ("class 0", "class 1")
    np.testing.assert_array_equal(trees.tree_data(seed=0).X_val, data.X_val)
    assert not np.array_equal(trees.tree_data(seed=1).X_val, data.X_val)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True])
def test_bad_seed_raises_config_error(seed):
    with pytest.raises(ConfigError, match="seed"):
        trees.tree_data(seed=seed)


def test_negative_alpha_raises_config_error(data):
    with pytest.raises(ConfigError, match="ccp_alpha=-0.1"):
        trees.fit_tree(data, ccp_alpha=-0.1)


# --- full tree and leaf counting --------------------------------------------------------


def test_full_tree_fits_noisy_training_labels_exactly(full_tree, data):
    assert full_tree.score(data.X_train, data.y_train) == 1.0
    assert trees.n_leaves(full_tree) == full_tree.get_n_leaves() > 50


def test_n_leaves_counts_only_reachable_leaves(full_tree):
    root_only = cut(full_tree, 0)
    assert trees.n_leaves(root_only) == 1
    assert root_only.get_n_leaves() == full_tree.get_n_leaves() + 1  # sklearn counts dead nodes


# --- reduced-error pruning --------------------------------------------------------------


def test_pruning_keeps_validation_accuracy_and_shrinks_the_tree(full_tree, pruned_tree, data):
    assert val_acc(pruned_tree, data) >= val_acc(full_tree, data)
    assert trees.n_leaves(pruned_tree) < trees.n_leaves(full_tree) / 3


def test_pruning_leaves_the_input_tree_unchanged(data):
    tree = trees.grow_full_tree(data)
    left, right = tree.tree_.children_left.copy(), tree.tree_.children_right.copy()
    predictions = tree.predict(data.X_test)
    pruned = trees.reduced_error_prune(tree, data.X_val, data.y_val)
    np.testing.assert_array_equal(tree.tree_.children_left, left)
    np.testing.assert_array_equal(tree.tree_.children_right, right)
    np.testing.assert_array_equal(tree.predict(data.X_test), predictions)
    assert pruned is not tree and trees.n_leaves(pruned) < trees.n_leaves(tree)


def test_pruned_tree_structure_is_consistent(pruned_tree, data):
    left, right = pruned_tree.tree_.children_left, pruned_tree.tree_.children_right
    reachable = trees.reachable_nodes(pruned_tree)
    assert len(reachable) == len(set(reachable)) == 2 * trees.n_leaves(pruned_tree) - 1
    for node in reachable:
        assert (left[node] == trees.TREE_LEAF) == (right[node] == trees.TREE_LEAF)
        if left[node] != trees.TREE_LEAF:
            assert node < left[node] < pruned_tree.tree_.node_count
            assert node < right[node] < pruned_tree.tree_.node_count
    reachable_leaves = {node for node in reachable if left[node] == trees.TREE_LEAF}
    assert set(pruned_tree.apply(data.X_test)) <= reachable_leaves  # predict obeys the cut


def test_pruning_reaches_a_fixed_point(pruned_tree, data):
    """No remaining internal node could be cut without losing validation accuracy."""
    left = pruned_tree.tree_.children_left
    internal = [n for n in trees.reachable_nodes(pruned_tree) if left[n] != trees.TREE_LEAF]
    assert internal
    for node in internal:
        assert val_acc(cut(pruned_tree, node), data) < val_acc(pruned_tree, data)


def test_pruning_on_the_training_set_keeps_it_perfect(full_tree, data):
    """Ties count as 'does not decrease': only subtrees voting one way are merged."""
    pruned = trees.reduced_error_prune(full_tree, data.X_train, data.y_train)
    assert pruned.score(data.X_train, data.y_train) == 1.0
    assert trees.n_leaves(pruned) <= trees.n_leaves(full_tree)


def test_pruning_rejects_bad_validation_sets(full_tree, data):
    with pytest.raises(ConfigError, match="y_val"):
        trees.reduced_error_prune(full_tree, data.X_val, data.y_val[:-1])
    with pytest.raises(ConfigError, match="fitted DecisionTreeClassifier"):
        trees.reduced_error_prune(DecisionTreeClassifier(), data.X_val, data.y_val)


# --- cost-complexity path and selection -------------------------------------------------


def test_path_shrinks_the_tree_as_alpha_grows(path_df):
    assert list(path_df.columns) == list(trees.PATH_COLUMNS)
    assert path_df["alpha"].is_monotonic_increasing and path_df["alpha"].is_unique
    assert (np.diff(path_df["n_leaves"]) <= 0).all()
    assert path_df["n_leaves"].iloc[-1] == 1
    assert path_df["train_acc"].iloc[0] == 1.0


def test_the_full_tree_overfits(path_df):
    full = path_df.iloc[0]
    chosen = path_df[path_df["alpha"] == trees.select_alpha(path_df)].iloc[0]
    assert chosen["val_acc"] > full["val_acc"]
    assert chosen["test_acc"] > full["test_acc"]
    assert chosen["n_leaves"] < full["n_leaves"] / 3


def test_select_alpha_uses_validation_not_test():
    path = pd.DataFrame(
        {
            "alpha": [0.0, 0.1, 0.2, 0.3],
            "n_leaves": [9, 5, 3, 1],
            "val_acc": [0.7, 0.9, 0.9, 0.6],
            "test_acc": [0.95, 0.6, 0.6, 0.5],
        }
    )
    assert trees.select_alpha(path) == 0.2  # best validation, tie -> the 3-leaf tree


@pytest.mark.parametrize(
    "bad", [pd.DataFrame(columns=list(trees.PATH_COLUMNS)), pd.DataFrame({"alpha": [0.0], "n_leaves": [3]})]
)
def test_select_alpha_rejects_bad_tables(bad):
    with pytest.raises(ConfigError, match="path_df"):
        trees.select_alpha(bad)


# --- figures ----------------------------------------------------------------------------


def test_pruning_curve_marks_the_validation_choice(path_df):
    fig = trees.pruning_curve_figure(path_df)
    ax = fig.axes[0]
    assert ax.get_title() == "Pruning a decision tree: accuracy against tree size"
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "accuracy"
    chosen_leaves = path_df.loc[path_df["alpha"] == trees.select_alpha(path_df), "n_leaves"]
    vline = ax.lines[-1]
    assert vline.get_xdata()[0] == chosen_leaves.iloc[0]
    fig.canvas.draw()
    plt.close(fig)
    assert fig.number not in plt.get_fignums()


def test_pruning_curve_rejects_unknown_alpha(path_df):
    with pytest.raises(ConfigError, match="chosen_alpha=7"):
        trees.pruning_curve_figure(path_df, chosen_alpha=7)
    assert not plt.get_fignums()


def test_trees_side_by_side_titles(full_tree, pruned_tree, data):
    fig = trees.trees_side_by_side(full_tree, pruned_tree, data)
    assert fig.get_suptitle() == "Figure 1. Pruning decision trees"
    full_title, pruned_title = (ax.get_title() for ax in fig.axes)
    assert full_title.startswith(f"Unpruned: {trees.n_leaves(full_tree)} leaves")
    assert pruned_title.startswith(f"Pruned: {trees.n_leaves(pruned_tree)} leaves")
    assert f"{pruned_tree.score(data.X_test, data.y_test):.2f}" in pruned_title
    plt.close(fig)
    assert fig.number not in plt.get_fignums()


def test_the_whole_story_runs_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = trees.tree_data(seed=3)
        full = trees.grow_full_tree(data, seed=3)
        path = trees.cost_complexity_path(data, seed=3)
        pruned = trees.reduced_error_prune(full, data.X_val, data.y_val)
        for fig in (trees.pruning_curve_figure(path), trees.trees_side_by_side(full, pruned, data)):
            plt.close(fig)
