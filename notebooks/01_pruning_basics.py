# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 01 · Pruning: from decision trees to neural networks
#
# *The Lottery Ticket Hypothesis, part 1 of 5.* Before we ask whether a network could have been
# small from the start, we look at the older idea it grew out of: making a trained model smaller
# by cutting parts away.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## The course
#
# 1. **Pruning in decision trees and neural networks** — this notebook
# 2. **The Lottery Ticket Hypothesis explained** — notebook 02
# 3. **Finding winning tickets** — notebooks 03 (the experiment) and 04 (its controls)
# 4. **Conclusions** — notebook 05

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## What you will learn
#
# - why a fully grown decision tree overfits and how pruning it back *improves* it (Mingers, 1989);
# - why neural networks are pruned, and how training by backpropagation works (a recap);
# - three rules for choosing which weights of a trained network to remove: the smallest weights
#   (Han et al., 2015), the least *sensitive* weights (Karnin, 1990), and random ones;
# - how far each rule can prune LeNet-300-100 without retraining, and how brief fine-tuning
#   recovers the rest;
# - what pruning does to the weight distribution and which input pixels keep their connections.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Setup
#
# Everything here is computed by the `ticketlab` package. The notebook runs at the **lecture**
# scale by default (training budgets of a few thousand iterations, about a minute on a laptop
# CPU). Set the environment variable `TICKETLAB_SCALE=smoke` for a seconds-long check that
# everything runs, or `TICKETLAB_SCALE=paper` for the paper's full budgets. Trained networks are
# stored in `results/` and loaded, not retrained, when you run the notebook again.

# %% slideshow={"slide_type": "skip"}
from ticketlab import data
from ticketlab.course import experiments, trees, widgets
from ticketlab.course.exercises import check_magnitude_prune
from ticketlab.lottery import ExperimentConfig, initial_weights, scale_from_env
from ticketlab.masks import Mask
from ticketlab.models import build, count_weights
from ticketlab.training import RunSpec, TrainConfig
from ticketlab.viz import diagrams, lesson_figures, plots

# %matplotlib inline
plots.use_course_style()  # seaborn's default look

SCALE = scale_from_env()  # "lecture" unless TICKETLAB_SCALE says smoke or paper
CONFIG = ExperimentConfig.at_scale(SCALE)  # LeNet-300-100 on MNIST: Adam, lr 1.2e-3, batch 60
print(f"scale {SCALE!r}: {CONFIG.iterations:,} training iterations, learning rate {CONFIG.lr}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · What is pruning? Decision trees
#
# A decision tree that keeps splitting until every leaf is pure learns its training data by
# heart, **including the noise** in its labels. Pruning cuts it back: it replaces subtrees by
# leaves. A smaller tree fits the training data less well but predicts new data *better*.

# %% [markdown] slideshow={"slide_type": "notes"}
# Pruning is how decision trees were tamed long before deep learning. Mingers (1989) compared five
# ways to prune trees grown to purity on noisy data and found that the methods that choose how far
# to cut with held-out data, such as critical-value, error-complexity (CART's cost-complexity) and
# reduced-error pruning, worked well. We use a noisy two-class problem from scikit-learn (20% of
# the labels redrawn at random), split into training data (to grow the tree), validation data (to
# decide how much to prune) and test data (to judge the result honestly, never used for a choice).

# %% slideshow={"slide_type": "skip"}
tree_data = trees.tree_data(seed=0)
full_tree = trees.grow_full_tree(tree_data)
path = trees.cost_complexity_path(tree_data)  # one tree per alpha: bigger alpha, smaller tree
best_alpha = trees.select_alpha(path)  # chosen on validation accuracy
cost_complexity_tree = trees.fit_tree(tree_data, ccp_alpha=best_alpha)
reduced_error_tree = trees.reduced_error_prune(full_tree, tree_data.X_val, tree_data.y_val)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Cost-complexity pruning** adds a price α per leaf to the training error and keeps the subtree
# with the lowest total; sweeping α gives a family of ever smaller trees. Training accuracy falls
# as the tree shrinks, validation and test accuracy *rise* until the tree gets too small.

# %% slideshow={"slide_type": "-"} tags=["hide-input"]
trees.pruning_curve_figure(path, best_alpha);

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Reduced-error pruning** walks the full tree bottom-up and turns a subtree into a leaf whenever
# that does not lower validation accuracy. Both methods find trees a fraction of the full size:

# %% slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
experiments.tree_summary({"unpruned": full_tree, "cost-complexity pruned": cost_complexity_tree,
                      "reduced-error pruned": reduced_error_tree}, tree_data).round(3)

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
trees.trees_side_by_side(full_tree, cost_complexity_tree, tree_data);

# %% [markdown] slideshow={"slide_type": "notes"}
# Figure 1 shows the shape of the problem: the unpruned tree on the left has grown a leaf for
# almost every noisy training example (its labels are too small to read, and that is the point);
# the pruned tree on the right makes a handful of readable decisions and is more accurate on the
# test data. Pruning here is not a compromise between size and accuracy: it removes parts that
# were *hurting*.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Pruning neural networks
#
# State-of-the-art networks are big, and every weight costs memory and arithmetic each time the
# network makes a prediction. Pruning removes connections (and sometimes whole units) from a
# **trained** network so that it runs more cheaply at inference time.

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
diagrams.network_pruning()

# %% [markdown] slideshow={"slide_type": "notes"}
# Karnin (1990) removed the connections whose removal the error is least *sensitive* to; Han et
# al. (2015) simply removed the smallest weights and retrained the rest, shrinking AlexNet 9× and
# VGG-16 13× without losing accuracy. Either way the order is: train the big network first, prune
# it afterwards. Keep that order in mind: the lottery ticket hypothesis (notebook 02) asks whether
# the small network could have been trained *from the start*.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How a network learns: backpropagation
#
# Pruning rules use what training leaves behind (the final weights, or how they moved), so we
# recall the loop that produces them (Starmer, 2020).

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
diagrams.backprop_flowchart()

# %% [markdown] slideshow={"slide_type": "notes"}
# Weights start random (θ0). Each step feeds a batch forward, measures the loss, sends its
# gradient backwards through the layers with the chain rule and moves every weight a little
# against its gradient. We use Adam, a variant that scales each weight's step by the history of
# its gradients, as Frankle & Carbin (2019) did. A validation set, never trained on, tells us when
# the network generalises best: the *early-stop* iteration with the lowest validation loss. Like
# the paper, we record that iteration and the test accuracy there, but keep training to the end
# of the budget: pruning uses the *final* weights.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Pruning a real network
#
# LeNet-300-100 is the fully connected network of the lottery-ticket paper: 784 input pixels,
# hidden layers of 300 and 100 units, 10 outputs. Pruning touches its weight matrices, never the
# biases.

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
lenet = build("lenet")
print(f"LeNet-300-100 has {count_weights(lenet):,} prunable weights")
Mask.ones_like(lenet).report()

# %% [markdown] slideshow={"slide_type": "subslide"}
# We train it **once** on MNIST. Along the way we add up the squared change of every weight at
# every step: Karnin's sensitivity needs that sum, and it can only be collected during training.

# %% slideshow={"slide_type": "-"}
mnist = data.load("mnist")
theta0 = initial_weights("lenet", seed=0)
dense, = experiments.train_or_load([RunSpec(init=theta0, mask=Mask.ones_like(theta0), data_seed=0)], mnist,
                               CONFIG.train_config(), model="lenet", track_updates=True,
                               purpose="notebook 01: dense LeNet-300-100 with Karnin's squared updates")
print(f"dense LeNet-300-100 after {CONFIG.iterations:,} iterations: test accuracy {100 * dense.final_test_acc:.2f}%")

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
lesson_figures.training_figure(dense, "Training the dense LeNet-300-100 on MNIST")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Which weights should go?
#
# Three rules rank the weights of the trained network; each layer then loses its lowest-ranked
# weights, all at once ("one shot"), with **no retraining**:
#
# - **magnitude** — the smallest |w| go (Han et al., 2015);
# - **sensitivity** — Karnin's (1990) estimate of how much the error grows without the weight,
#   $S = \sum_n [\Delta w(n)]^2 \cdot \frac{w_\text{final}}{\eta\,(w_\text{final} - w_\text{initial})}$;
# - **random** — the baseline every rule has to beat.

# %% [markdown] slideshow={"slide_type": "notes"}
# Each layer is pruned to the size it would have after r rounds of the lottery-ticket paper's
# iterative pruning (fully connected layers lose 20% of their survivors per round, the output
# layer 10%), so the sparsity levels here are those of the same rounds in notebooks 03 and 04
# (the table lists every second round and goes a little past their sparsest level). Karnin
# derived his estimate for plain gradient descent, where every step is −η times the gradient; we
# trained with Adam, whose steps are not, so the estimate is only a rough guide here. Accuracy is
# measured on the test set: nothing is chosen with it.

# %% slideshow={"slide_type": "subslide"}
pruner = experiments.one_shot_pruner(dense, theta0, CONFIG, mnist.x_test, mnist.y_test)
one_shot = pruner.table(rounds=range(0, 21, 2))
accuracy = 100 * one_shot.pivot(index="percent_remaining", columns="method", values="accuracy")[list(experiments.METHODS)]
accuracy.sort_index(ascending=False).rename(index="{:.1f}%".format).rename_axis(
    index="weights remaining", columns="test accuracy (%)").round(1)

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
lesson_figures.one_shot_figure(one_shot, dense.final_test_acc)

# %% slideshow={"slide_type": "skip"}
for method, rows in one_shot.groupby("method", sort=False):
    holds = rows[rows["accuracy"] >= dense.final_test_acc - 0.01]["percent_remaining"].min()
    print(f"{method:>9}: within 1 point of the dense network down to {holds:.1f}% of the weights")

# %% [markdown] slideshow={"slide_type": "notes"}
# Magnitude pruning is the clear winner: a trained network keeps most of its accuracy with a
# fraction of its weights, because many trained weights are close to zero and contribute little.
# Random pruning destroys the network quickly. Karnin's estimate, used with Adam instead of the
# plain gradient descent it was derived for, does worse than random pruning already at the
# mildest level of the table, better at the next, and then falls far below it and down to chance
# (the dotted line of the figure): a pruning criterion is only as good as its assumptions. The
# pixel images further down show what it keeps instead.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Fine-tuning recovers the rest
#
# Pruning without retraining is the harshest test. In practice the pruned network is trained a
# little more, with the pruned weights held at zero (Han et al., 2015). We fine-tune magnitude-
# and randomly pruned networks at two sparsities for a tenth of the original training budget.

# %% slideshow={"slide_type": "skip"}
fine_tune_rounds = (10, 15)  # 10.8% and 3.6% of the weights remaining
pairs = [(method, r) for method in ("magnitude", "random") for r in fine_tune_rounds]
fine_tune = TrainConfig(iterations=CONFIG.iterations // 10, lr=CONFIG.lr, eval_every=max(1, CONFIG.iterations // 60))
runs = [RunSpec(init=dense.final, mask=pruner.mask(method, r), data_seed=0) for method, r in pairs]
tuned = experiments.train_or_load(runs, mnist, fine_tune, model="lenet", purpose="notebook 01: fine-tuning after one-shot pruning")
fine_tuned = [(method, run.mask.percent_remaining, result) for (method, _), run, result in zip(pairs, runs, tuned)]

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
lesson_figures.fine_tune_figure(fine_tuned, dense.final_test_acc)

# %% [markdown] slideshow={"slide_type": "notes"}
# Iteration 0 of each line is the pruned network before any retraining, as in the one-shot table
# above (it lists 10.8%; 3.6% lies between two of its rows). A few hundred steps bring the
# magnitude-pruned network at 10.8% back to the dense accuracy and the one at 3.6% to within a
# few points of it, and even the randomly pruned ones recover most of what they lost: the pruned
# *architecture* can learn. What it cannot do is keep the knowledge of the removed weights
# without retraining. Notebook 02 asks the sharper question: could a small architecture like this
# be trained from the start?

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What pruning does to the weights
#
# Trained weights cluster around zero. Magnitude pruning cuts out the middle of the
# distribution and keeps the two tails.

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
lesson_figures.weight_histograms(dense.final, pruner.mask("magnitude", 10), "magnitude pruning to 10.8% remaining")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Which input pixels keep their connections?
#
# Each of the 784 input pixels feeds the 300 units of the first layer. Counting how many of those
# connections survive, pixel by pixel, turns the first layer's mask into a 28×28 image.

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
lesson_figures.pixel_masks_figure({lesson_figures.METHOD_STYLE[m][1]: pruner.mask(m, 10) for m in experiments.METHODS},
                           "First-layer connections kept per input pixel at 10.8% of the weights remaining")

# %% [markdown] slideshow={"slide_type": "notes"}
# Magnitude pruning keeps the connections of the pixels in the middle of the image, where the
# digits are, and strips the border, whose pixels are the same in every image and carry no
# information: the trained weights have learned where the information is. Random pruning keeps
# about the same number of connections everywhere. Karnin's estimate does the opposite of
# magnitude pruning and keeps mostly the border. A border pixel has the same value in every
# image, so its weights move like extra biases, steadily in one direction, and the estimate reads
# that steady movement as importance. No wonder its accuracy collapsed.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Explore it yourself
#
# Choose a rule and a sparsity: the explorer prunes the trained network and shows its test
# accuracy (without retraining) and its first-layer mask. It needs a running kernel; in a rendered
# copy of this notebook the figures above show the same data.

# %% slideshow={"slide_type": "-"}
widgets.pruning_explorer(pruner, rounds=range(0, 21), dense_accuracy=dense.final_test_acc)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - Pruning is old: a decision tree grown to purity overfits, and pruning it on validation data
#   makes it smaller **and** more accurate (Mingers, 1989).
# - Networks are pruned after training so that they are cheaper to run (Karnin, 1990; Han et al.,
#   2015).
# - The magnitude of a trained weight is a strong guide to its importance: LeNet-300-100 keeps its
#   accuracy without retraining after most of its weights are removed; random pruning does not.
# - Brief fine-tuning recovers most of what one-shot pruning lost, even for random masks.
# - Pruning as we met it here always starts from a *trained* dense network. Notebook 02 asks
#   whether the small network could have been trained on its own from the start.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1. Magnitude pruning of one layer.** Write `magnitude_prune(weight, mask, rate)`: given a
# weight tensor, its current 0/1 mask and a rate, return a new 0/1 mask that removes
# `round(rate × surviving)` of the *surviving* weights with the smallest |w|. Pruned weights stay
# pruned. Run the cell: the checker compares your function with ticketlab's on random layers.
#
# <details><summary>Hint</summary>
#
# Give the already pruned weights a score of +∞ so they are never chosen again
# (`torch.where(mask > 0, weight.abs(), torch.inf)`), find the `round(rate * mask.sum())` smallest
# scores with `torch.topk(..., largest=False)` on the flattened tensor, and set those positions of
# a copy of the mask to 0. The magnitude is `|w|`, not `w`: a popular implementation once compared
# signed values and so pruned every negative weight first.
#
# </details>
#
# <details><summary>Solution</summary>
#
# ```python
# import torch
#
# def magnitude_prune(weight, mask, rate):
#     scores = torch.where(mask > 0, weight.abs(), torch.inf).flatten()  # pruned weights never chosen again
#     new = mask.clone().flatten()
#     new[torch.topk(scores, round(rate * int(mask.sum())), largest=False).indices] = 0
#     return new.view_as(mask)
# ```
#
# </details>

# %% slideshow={"slide_type": "subslide"}
def magnitude_prune(weight, mask, rate):
    """Return a new 0/1 mask: the round(rate × surviving) surviving weights with the smallest |w| removed."""
    ...  # your code here


check_magnitude_prune(magnitude_prune)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2. Sensitivity, seen from the weights.** Draw the weight histograms for Karnin's mask at
# 10.8% remaining, `lesson_figures.weight_histograms(dense.final, pruner.mask("karnin", 10), "...")`.
# Which weights does it keep that magnitude pruning removes? Why can a large weight still be
# "insensitive" by Karnin's estimate?
#
# <details><summary>Hint</summary>
#
# Look at the sign of w_final / (w_final − w_initial): a weight that moved *towards* zero during
# training gets a negative score, however large it still is, and is pruned first.
#
# </details>
#
# <details><summary>Solution</summary>
#
# ```python
# lesson_figures.weight_histograms(dense.final, pruner.mask("karnin", 10), "Karnin's mask at 10.8% remaining")
# ```
#
# Karnin's score is Σ(Δw)² · w_final / (η (w_final − w_initial)). Its sign is the sign of
# w_final / (w_final − w_initial): positive when a weight grew away from zero, negative when it
# shrank towards zero. A large weight that is on its way down scores low and is removed, while a
# small weight that moved steadily (the border pixels' weights of the masks above) scores high. The
# estimate measures how much the error changed while the weight moved, not how large the weight is.
#
# </details>
#
# **3. Layer-wise or global?** We pruned every layer by the same rule separately. Rank all weights
# of all layers together instead with `ticketlab.pruning.prune_global(dense.final,
# Mask.ones_like(dense.final), rate)` and compare the test accuracy at the same overall sparsity
# (use `ticketlab.training.evaluate(build("lenet"), dense.final, mnist.x_test, mnist.y_test, mask)`).
# Which layers does global pruning empty first, and why?
#
# <details><summary>Hint</summary>
#
# `mask.report()` lists the percent remaining per layer. The layers have different weight scales
# (Glorot initialisation scales by fan-in and fan-out), so one global threshold hits the largest
# layer, fc1, hardest.
#
# </details>
#
# <details><summary>Solution</summary>
#
# ```python
# from ticketlab import pruning
# from ticketlab.training import evaluate
#
# rate = 1 - 0.8**10  # about the overall sparsity of layer-wise round 10 (10.8% remaining)
# layer_wise = pruner.mask("magnitude", 10)
# global_mask = pruning.prune_global(dense.final, Mask.ones_like(dense.final), rate)
# for name, mask in (("layer-wise", layer_wise), ("global", global_mask)):
#     loss, acc = evaluate(build("lenet"), dense.final, mnist.x_test, mnist.y_test, mask)
#     print(f"{name}: {100 * acc:.1f}% test accuracy")
#     print(mask.report().to_string(index=False))
# ```
#
# `mask.report()` shows where each rule put the cuts. Glorot's initialisation scales each layer by
# its fan-in and fan-out, so fc1's weights (784 inputs) are the smallest in magnitude and one global
# threshold removes them first, while the small output layer keeps nearly all of its weights. Which
# rule is more accurate at the same overall sparsity is what the printed lines tell you; the paper
# prunes LeNet layer by layer and uses global pruning only for the deep networks.
#
# </details>
#
# **4. Decision trees and noise.** Our tree data redraws 20% of the labels at random. Build a
# cleaner problem with `sklearn.datasets.make_classification(..., flip_y=0.0)` and fit a full and a
# cost-complexity-pruned tree. Does pruning still help on the test set? What does that say about
# *what* pruning removes?
#
# <details><summary>Hint</summary>
#
# Without label noise there is little to memorise; the full tree's extra leaves then describe real
# structure and pruning gains little or nothing.
#
# </details>
#
# <details><summary>Solution</summary>
#
# ```python
# from sklearn.datasets import make_classification
# from sklearn.model_selection import train_test_split
# from sklearn.tree import DecisionTreeClassifier
#
# x, y = make_classification(n_samples=2000, n_features=10, n_informative=5, flip_y=0.0, random_state=0)
# x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, random_state=0)
# x_fit, x_val, y_fit, y_val = train_test_split(x_train, y_train, test_size=0.3, random_state=0)
# path = DecisionTreeClassifier(random_state=0).cost_complexity_pruning_path(x_fit, y_fit)
# trees = [DecisionTreeClassifier(random_state=0, ccp_alpha=a).fit(x_fit, y_fit) for a in path.ccp_alphas]
# pruned = max(trees, key=lambda t: t.score(x_val, y_val))  # chosen on validation data, never on test
# print(f"full tree: {trees[0].get_n_leaves()} leaves, test {trees[0].score(x_test, y_test):.3f}; "
#       f"pruned: {pruned.get_n_leaves()} leaves, test {pruned.score(x_test, y_test):.3f}")
# ```
#
# Compare the two test scores with the noisy data of section 1. Pruning removes leaves that fit
# noise; without label noise fewer leaves are noise, so the pruned tree is smaller but gains less (or
# nothing) on the test set.
#
# </details>

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Bibliography
#
# - Frankle, J., & Carbin, M. (2019). The lottery ticket hypothesis: Finding sparse, trainable
#   neural networks. *ICLR 2019*. arXiv:1803.03635.
# - Han, S., Pool, J., Tran, J., & Dally, W. (2015). Learning both weights and connections for
#   efficient neural networks. *NeurIPS 2015*. arXiv:1506.02626.
# - Karnin, E. D. (1990). A simple procedure for pruning back-propagation trained neural networks.
#   *IEEE Transactions on Neural Networks*, 1(2), 239–242.
# - Mingers, J. (1989). An empirical comparison of pruning methods for decision tree induction.
#   *Machine Learning*, 4(2), 227–243.
# - Starmer, J. (2020, October 19). *Neural Networks Pt. 2: Backpropagation Main Ideas* [Video].
#   YouTube (StatQuest).
