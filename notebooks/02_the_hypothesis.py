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
# # 02 · The Lottery Ticket Hypothesis
#
# *The Lottery Ticket Hypothesis, part 2 of 5.* Notebook 01 pruned networks *after* training. Frankle
# & Carbin (2019) asked a different question: was the small network inside the big one trainable
# all along?

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## What you will learn
#
# - the hypothesis, word for word and as a precise statement about a mask m and the initial
#   weights θ0, and what each of its conditions means;
# - the conjecture that explains it: big networks contain astronomically many subnetworks, and
#   training finds one that started in a good place;
# - what the loss looks like along the straight line from θ0 to the trained weights, for the dense
#   network and for a winning ticket;
# - how to find a first winning ticket yourself, in seconds, on a two-dimensional toy problem, and
#   what its decision boundary looks like next to a randomly reinitialised copy.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Setup
#
# The notebook runs at the **lecture** scale by default: about two minutes on a 2-core laptop CPU
# if notebook 03 has not stored its runs yet, under half a minute if it has. Set the environment
# variable `TICKETLAB_SCALE=smoke` for a seconds-long check, or `TICKETLAB_SCALE=paper` for the
# paper's full budgets. Finished runs live in `results/` and are shared with notebooks 03–05.

# %% slideshow={"slide_type": "skip"}
import numpy as np

from ticketlab import data
from ticketlab.course import experiments, widgets
from ticketlab.course.exercises import check_percent_remaining
from ticketlab.lottery import ExperimentConfig, run_experiment, scale_from_env
from ticketlab.models import build, count_weights
from ticketlab.viz import diagrams, lesson_figures, plots

# %matplotlib inline
plots.use_course_style()  # seaborn's default look

SCALE = scale_from_env()  # "lecture" unless TICKETLAB_SCALE says smoke or paper
TICKET_ROUND = 7  # 7 rounds of 20% pruning leave 21.1% of LeNet's weights
CONFIG = ExperimentConfig.at_scale(SCALE).replace(rounds=TICKET_ROUND, conditions=("ticket",), control_rounds=None)
print(f"scale {SCALE!r}: LeNet-300-100 on MNIST, {CONFIG.iterations:,} iterations per run, seeds {list(CONFIG.seeds)}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · The hypothesis
#
# > "A randomly-initialized, dense neural network contains a subnetwork that is initialized such
# > that—when trained in isolation—it can match the test accuracy of the original network after
# > training for at most the same number of iterations."
# >
# > — Frankle & Carbin (2019)
#
# In a dense network that has not seen any data yet, there is a sparse subnetwork that trains
# **as well or better**, and **as fast or faster**, than the whole network.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## The paper at a glance
#
# | | Frankle & Carbin, *The Lottery Ticket Hypothesis*, ICLR 2019 |
# |---|---|
# | claim | a dense network at initialisation contains a subnetwork that, trained alone from the same initial values, matches the whole network's accuracy in at most as many iterations |
# | method | iterative magnitude pruning: train, prune the smallest surviving weights per layer, **reset the survivors to θ0**, repeat |
# | controls | the same mask with fresh random values; a random mask of the same layer sizes |
# | networks | LeNet-300-100 on MNIST; Conv-2/4/6 on CIFAR-10; VGG-19 and ResNet-18 on CIFAR-10 (with learning-rate warmup) |
# | headline | winning tickets "less than 10-20% of the size" of the dense networks (abstract); LeNet's learn fastest near 21% of the weights and stay at least as accurate down to 3.6% (Section 2, Figure 3) |
# | course | notebook 03 runs the method, 04 the controls, 05 grades every LeNet claim against our runs and a full run of the paper's protocol |

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## The hypothesis, precisely
#
# Train the dense network $f(x;\theta)$ from its random initial weights $\theta_0$: it reaches its
# lowest validation loss at iteration $j$ with test accuracy $a$. A **mask** $m \in \{0,1\}^{|\theta|}$
# selects a subnetwork $f(x; m \odot \theta)$, started from the *same* values $m \odot \theta_0$. It
# reaches its lowest validation loss at iteration $j'$ with test accuracy $a'$. The hypothesis: there
# is an $m$ with
#
# - $j' \le j$: the subnetwork learns **at least as fast** (commensurate training time),
# - $a' \ge a$: it is **at least as accurate** on the test set (commensurate accuracy),
# - $\lVert m \rVert_0 \ll \lvert\theta\rvert$: it keeps **far fewer** weights (the ones of $m$ are few).
#
# Such an $m$ together with $\theta_0$ is a **winning ticket**.

# %% [markdown] slideshow={"slide_type": "notes"}
# Each symbol matters. $m \odot \theta_0$ (elementwise product) means the subnetwork's surviving
# weights start from exactly the values they had in the dense network, not from fresh random ones;
# notebook 04 tests what happens with fresh ones. $j$ and $j'$ are *early-stop* iterations, the
# moment of lowest validation loss, so "as fast" means the subnetwork reaches its best point no
# later. Accuracies are measured at those iterations, on test data that played no part in any
# choice. $\lVert m \rVert_0$ counts the ones in the mask (the weights kept) and $\lvert\theta\rvert$
# counts all weights. The hypothesis only claims that such a mask *exists*; finding it is the job
# of notebook 03, and the trick found there needs training the dense network first.

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
diagrams.sparse_subnetwork()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · The conjecture: why should such a ticket exist?
#
# Frankle & Carbin offer an explanation they do not test: training with SGD finds and trains a
# subnetwork that was well initialised, and **overparameterised networks contain more
# subnetworks**, so more chances that one of them starts out well. How many are there?

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
total = count_weights(build("lenet"))
kept = round(0.10 * total)
exponent = experiments.log10_subnetworks(total, kept)
print(f"LeNet-300-100 has {total:,} weights; a subnetwork at 10% density keeps {kept:,} of them.")
print(f"Ways to choose them: C({total:,}, {kept:,}) ≈ 10^{exponent:,.0f}")
print("For comparison: about 10^80 atoms in the observable universe.")

# %% [markdown] slideshow={"slide_type": "notes"}
# The number of ways to choose $k$ of $n$ weights is the binomial coefficient
# $\binom{n}{k} = \frac{n!}{k!\,(n-k)!}$; its logarithm comes from `math.lgamma`, because
# $\ln n! = \ln\Gamma(n+1)$ and the factorials themselves have hundreds of thousands of digits.
# A lottery with this many tickets is only winnable because training does not try them one by one.

# %% [markdown] slideshow={"slide_type": "subslide"}
# Frankle describes the picture behind the conjecture as landing in a "valley" of the loss
# landscape (Machine Learning Street Talk, 2020): some starting points lie on slopes that lead
# down into good valleys, and a big network offers many starting points at once.

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
diagrams.loss_landscape_sketch()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A real slice of the loss landscape
#
# The real landscape has 266,200 dimensions, one per weight. We can still look at one line
# through it: the straight line from the initial weights θ0 to the trained weights, for the dense
# network and for a winning ticket (Goodfellow et al., 2015, introduced this view).

# %% [markdown] slideshow={"slide_type": "notes"}
# The ticket comes from seven rounds of iterative magnitude pruning (notebook 03 explains the
# recipe): train, remove the 20% smallest weights of each layer (10% of the output layer), reset
# the survivors to θ0, repeat. After seven rounds 21.1% of the weights remain. These runs are
# exactly the first rounds of notebook 03's experiment, so whichever notebook runs first trains
# them and the other loads them. For the ticket, both ends of the line and every point between
# are masked: the pruned weights stay zero. The loss is measured on 5,000 training images.

# %% slideshow={"slide_type": "skip"}
results = run_experiment(CONFIG)
mnist = data.load("mnist")
seed = CONFIG.seeds[0]
theta0, mask = results.initial_weights(seed), results.mask(seed, TICKET_ROUND)
x, y = mnist.x_train[:5000], mnist.y_train[:5000]
alphas = np.linspace(-0.25, 1.25, 31)
dense_label, ticket_label = "dense network (100%)", f"winning ticket ({mask.percent_remaining:.1f}% of weights)"
lines = {
    dense_label: experiments.loss_along_line(build("lenet"), theta0, results.final_weights(seed, 0), x, y, alphas),
    ticket_label: experiments.loss_along_line(build("lenet"), theta0, results.final_weights(seed, TICKET_ROUND), x, y,
                                          alphas, mask),
}

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
lesson_figures.line_figure(lines, colors={dense_label: plots.DENSE_COLOR, ticket_label: plots.CONDITION_STYLE["ticket"][0]})

# %% slideshow={"slide_type": "subslide"}
for label, line in lines.items():
    start, end = line.set_index("alpha").loc[0.0], line.set_index("alpha").loc[1.0]
    print(f"{label}: training loss {start['loss']:.2f} at θ0 → {end['loss']:.3f} trained "
          f"(accuracy {100 * start['accuracy']:.0f}% → {100 * end['accuracy']:.1f}%)")

# %% [markdown] slideshow={"slide_type": "notes"}
# Both lines run downhill from θ0 to the trained weights without a bump, and the loss rises again
# beyond them (α > 1): along this line the trained network sits at the bottom of a valley. The
# ticket's line has the same shape, although four fifths of the weights are gone, but it starts
# much lower: its mask alone, applied to the untrained θ0, already classifies most training images
# correctly. The mask was chosen by pruning *trained* weights, so it carries information about
# the solution; Zhou et al. (2019) call such masks "supermasks". One line proves little about the
# whole landscape, and the sketch above stays a sketch; what the line does show is that the
# ticket starts closer to its valley and has a smooth way down.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · A first ticket in seconds
#
# Two interleaved half-moons, 1,000 training points in two dimensions, and a small network
# (2 → 32 → 32 → 2, 1,152 weights). The recipe: train the dense network, prune the smallest weights,
# **reset the survivors to θ0**, train again, repeat. The control: the same mask with **new**
# random initial values.

# %% [markdown] slideshow={"slide_type": "notes"}
# To reach sparse networks in a few short rounds this toy prunes 40% of the surviving weights per
# round (the paper prunes 20%) for eight rounds, with four seeds, 500 iterations per run and
# Adam at learning rate 0.01. Every pruning round also trains the random reinitialisation, the
# control of notebook 04. The whole experiment takes well under a minute and is stored.

# %% slideshow={"slide_type": "subslide"}
TOY = experiments.toy_config(SCALE)
toy = experiments.toy_tickets(TOY)
experiments.condition_table(toy.results.summary).rename(
    columns={"ticket": "winning ticket (%)", "reinit": "random reinit (%)"}).round(1)

# %% [markdown] slideshow={"slide_type": "notes"}
# The table shows test accuracy at the early-stop iteration, averaged over the four seeds (round 0
# is the dense network). The moons are an easy problem: at mild sparsity every subnetwork matches
# the dense network, ticket or not. The difference appears when few weights are left: the ticket,
# started from its original θ0, holds its accuracy better than the same architecture started from
# new random values. The figure below shows what the toy does *not* reproduce: its tickets (and
# their reinitialised copies) reach their minimum validation loss *later* than the dense network
# at every level, so only the accuracy half of the hypothesis shows here, not the speed half.

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
plots.early_stop_vs_density(toy.results.summary, title="Toy tickets: winning ticket against random reinitialisation")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## What the networks learned
#
# Decision regions of the dense network, a winning ticket and its randomly reinitialised copy
# (same mask), trained on the same data in the same order; points are the test set.

# %% slideshow={"slide_type": "-"} tags=["hide-input"]
SHOW_ROUND = min(4, TOY.rounds)
lesson_figures.decision_boundaries_figure(toy.panels(seed=0, round_=SHOW_ROUND), toy.data,
                                   f"Two moons, seed 0: the dense network, its ticket and a random reinitialisation "
                                   f"(pruning round {SHOW_ROUND})")

# %% slideshow={"slide_type": "subslide"} tags=["hide-input"]
plots.condition_curves(toy.results.curves, round_=SHOW_ROUND)

# %% [markdown] slideshow={"slide_type": "notes"}
# With a seventh of the weights left, each network draws its boundary out of a few straight
# pieces. The ticket places them along the gap between the moons; the reinitialised copy, with the
# same connections but new starting values, tends to settle for a cruder cut. The training curves
# show the same from another angle: the ticket's validation loss falls lower. On this tiny problem
# no subnetwork beats the dense network by more than a few tenths of a point, and at mild
# sparsity the reinitialised copies do as well as the tickets: the toy shows the
# ticket-versus-reinit contrast at high sparsity, while notebooks 03 and 04 test the full
# hypothesis on LeNet-300-100.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Explore the toy tickets
#
# Choose a seed and a sparsity: the explorer draws the three networks of that seed and round. It
# needs a running kernel; in a rendered copy the figures above show one seed and round.

# %% slideshow={"slide_type": "-"}
widgets.toy_ticket_explorer(toy)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - The hypothesis: a randomly initialised dense network contains a sparse subnetwork that,
#   trained in isolation from the **same** initial values $m \odot \theta_0$, learns at least as
#   fast ($j' \le j$) and at least as well ($a' \ge a$) with far fewer weights.
# - The conjecture: overparameterised networks contain astronomically many subnetworks
#   (about $10^{37{,}580}$ at 10% density for LeNet-300-100), so some start in a good valley.
# - Along the straight line from θ0 to the trained weights, the loss of the dense network and of a
#   ticket falls smoothly into a valley.
# - On a toy problem a ticket is found in seconds; below about 20% of the weights it beats the same
#   mask with new random initial values.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1. Counting the ladder.** Iterative pruning removes a fraction `rate` of the surviving weights
# of fc1 and fc2 each round, and `output_rate` of the output layer's (784×300, 300×100 and 100×10
# weights). Write `percent_remaining(rounds, rate, output_rate)` that returns the percent of
# LeNet-300-100's 266,200 weights left after `rounds` rounds. The checker compares it with the
# engine on several cases.
#
# <details><summary>Hint</summary>
#
# Keep one count per layer and update it round by round: `count = count - round(rate * count)`.
# The engine rounds each layer's pruned count to a whole number of weights every round, so
# `(1 - rate) ** rounds` is close but not exact, and the output layer has its own rate.
#
# </details>
#
# <details><summary>Solution</summary>
#
# ```python
# def percent_remaining(rounds, rate, output_rate):
#     counts = {"fc1": 784 * 300, "fc2": 300 * 100, "fc3": 100 * 10}
#     rates = {"fc1": rate, "fc2": rate, "fc3": output_rate}
#     for _ in range(rounds):
#         counts = {name: count - round(rates[name] * count) for name, count in counts.items()}
#     return 100 * sum(counts.values()) / 266_200
# ```
#
# </details>

# %% slideshow={"slide_type": "subslide"}
def percent_remaining(rounds, rate, output_rate):
    """Percent of LeNet-300-100's weights left after `rounds` rounds of layer-wise pruning."""
    ...  # your code here


check_percent_remaining(percent_remaining)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2. Where is the lottery biggest?** Plot `experiments.log10_subnetworks(266_200, k)` for k from 0
# to 266,200. At which density are there the most subnetworks? Why does that not mean that 50%
# is the best density for a ticket?
#
# <details><summary>Hint</summary>
#
# The binomial coefficient is symmetric, C(n, k) = C(n, n−k), and largest at k = n/2. The
# hypothesis needs more than many candidates: the ticket must also be small, so the interesting
# question is how sparse a mask can be while one good candidate still exists.
#
# </details>
#
# <details><summary>Solution</summary>
#
# ```python
# import matplotlib.pyplot as plt
#
# k = np.linspace(0, 266_200, 201).round().astype(int)
# fig, ax = plt.subplots()
# ax.plot(100 * k / 266_200, [experiments.log10_subnetworks(266_200, int(i)) for i in k])
# ax.set(xlabel="percent of weights kept", ylabel="log10(number of subnetworks)")
# ```
#
# The curve peaks at 50%: C(n, k) is largest at k = n/2. But the number of candidates is not the
# goal. The hypothesis asks for a *small* subnetwork that trains as well as the whole, and the
# experiments of notebook 03 show that good tickets exist far below 50% (the most candidates) and
# that they stop existing at some sparsity although C(n, k) is still astronomically large there.
#
# </details>
#
# **3. Read the conditions.** A subnetwork at 5% density reaches 98.1% test accuracy at its
# early-stop iteration 4,000; the dense network reaches 98.0% at iteration 3,000. Is it a winning
# ticket under the definition above? Which condition fails, and why does the paper insist on it?
#
# <details><summary>Hint</summary>
#
# Check $j' \le j$. A ticket that needs longer training saves nothing in training time; the paper
# wants subnetworks that could *replace* the dense network during training, not only after it.
#
# </details>
#
# <details><summary>Solution</summary>
#
# ```python
# j_dense, acc_dense, j_sub, acc_sub = 3_000, 98.0, 4_000, 98.1
# print("accuracy:", acc_sub >= acc_dense, "| iterations:", j_sub <= j_dense, "| size: 5% of the weights")
# ```
#
# It is not a winning ticket: it is as accurate and far smaller, but it needs more iterations
# (j' = 4,000 > j = 3,000). The definition asks for all three conditions because the paper's aim is
# a subnetwork that could replace the dense network *during* training; one that trains longer
# would not save training.
#
# </details>
#
# **4. The toy at the paper's pace.** Run the toy experiment with the paper's rate of 20% per round
# and twice as many rounds, `experiments.toy_tickets(experiments.toy_config(SCALE).replace(prune_rate=0.2,
# rounds=16))`, and compare `experiments.condition_table(...)` with the one above. Are tickets found by
# gentler pruning better at the same sparsity?
#
# <details><summary>Hint</summary>
#
# Compare rows at similar "percent remaining". Frankle & Carbin (2019) found that pruning a
# little per round finds smaller and better tickets than pruning a lot at once; the price is more
# rounds of training.
#
# </details>
#
# <details><summary>Solution</summary>
#
# ```python
# gentle = experiments.toy_tickets(experiments.toy_config(SCALE).replace(prune_rate=0.2, rounds=16))
# experiments.condition_table(gentle.results.summary).round(1)
# ```
#
# Put rows of similar "percent remaining" side by side (40% per round gives the levels of the
# table above; 20% per round steps down more gently, as its own table's "percent remaining"
# column shows). If gentler pruning finds better tickets, its ticket column is higher at the same
# sparsity; the reinit column tells whether the gain is the ticket's or the architecture's. It
# costs twice as many rounds of training, which is the price Frankle & Carbin (2019) pay for
# iterative pruning.
#
# </details>

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Bibliography
#
# - Frankle, J., & Carbin, M. (2019). The lottery ticket hypothesis: Finding sparse, trainable
#   neural networks. *ICLR 2019*. arXiv:1803.03635 (first version 2018, the lecture's citation).
# - Goodfellow, I. J., Vinyals, O., & Saxe, A. M. (2015). Qualitatively characterizing neural
#   network optimization problems. *ICLR 2015*. arXiv:1412.6544.
# - Machine Learning Street Talk (2020, May 2). *The Lottery Ticket Hypothesis with Jonathan
#   Frankle* [Video]. YouTube.
# - Zhou, H., Lan, J., Liu, R., & Yosinski, J. (2019). Deconstructing lottery tickets: Zeros, signs,
#   and the supermask. *NeurIPS 2019*. arXiv:1905.01067.
