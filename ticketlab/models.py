"""The networks of Frankle & Carbin (2019): LeNet-300-100, Conv-2/4/6, and a toy MLP.

Every model is a plain ``nn.Module`` whose prunable parameters are its weight matrices and
kernels (``*.weight``); biases are never pruned. Initialisation is Gaussian Glorot, as in
the paper, with zero biases. ``REGISTRY`` holds everything else the package knows about a model
(its name in figures, the paper's data set, learning rate and pruning rates), so adding a
model is one entry there (CONTRIBUTING.md shows one).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .errors import ConfigError


class MLP(nn.Module):
    """A fully connected ReLU network; LeNet-300-100 is ``MLP((784, 300, 100, 10))``."""

    def __init__(self, sizes: tuple[int, ...]):
        super().__init__()
        self.sizes = tuple(sizes)
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.add_module(f"fc{i}", nn.Linear(fan_in, fan_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        layers = list(self.children())
        for layer in layers[:-1]:
            x = torch.relu(layer(x))
        return layers[-1](x)


class ConvNet(nn.Module):
    """Conv-2/4/6: pairs of 3x3 'same' convolutions, each pair followed by 2x2 max-pooling,
    then fully connected 256-256-10 (Simonyan & Zisserman style, as in the paper)."""

    def __init__(self, channels: tuple[int, ...], in_shape=(3, 32, 32), num_classes=10):
        super().__init__()
        self.channels = tuple(channels)
        in_ch, side = in_shape[0], in_shape[1]
        for i, out_ch in enumerate(channels, start=1):
            self.add_module(f"conv{i}", nn.Conv2d(in_ch, out_ch, 3, padding=1))
            in_ch = out_ch
        side //= 2 ** (len(channels) // 2)
        self.fc1 = nn.Linear(in_ch * side * side, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc3 = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, len(self.channels) + 1):
            x = torch.relu(getattr(self, f"conv{i}")(x))
            if i % 2 == 0:
                x = torch.max_pool2d(x, 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def _conv_net(depth: int, in_shape: tuple[int, ...]) -> ConvNet:
    return ConvNet((64, 64, 128, 128, 256, 256)[:depth], in_shape=in_shape)


@dataclass(frozen=True)
class ModelSpec:
    """One network and the paper's settings for it (Frankle & Carbin 2019, Figure 2)."""

    title: str  # its name in figures and tables
    make: Callable[[tuple[int, ...]], nn.Module]  # the network for examples of this shape
    dataset: str  # the paper's data set, the default
    datasets: tuple[str, ...]  # every data set it can train on
    lr: float  # the paper's Adam learning rate
    conv_rate: float = 0.1  # fraction of surviving convolution weights pruned per round (fc: the experiment's)
    default_shape: tuple[int, ...] = (1, 28, 28)  # when no data set is named


IMAGES = ("mnist", "fashion-mnist", "cifar10")
REGISTRY = {
    "lenet": ModelSpec(
        "LeNet-300-100", lambda shape: MLP((784, 300, 100, 10)), "mnist", ("mnist", "fashion-mnist"), lr=1.2e-3
    ),
    "conv2": ModelSpec(
        "Conv-2", functools.partial(_conv_net, 2), "cifar10", IMAGES, lr=2e-4, conv_rate=0.10, default_shape=(3, 32, 32)
    ),
    "conv4": ModelSpec(
        "Conv-4", functools.partial(_conv_net, 4), "cifar10", IMAGES, lr=3e-4, conv_rate=0.10, default_shape=(3, 32, 32)
    ),
    "conv6": ModelSpec(
        "Conv-6", functools.partial(_conv_net, 6), "cifar10", IMAGES, lr=3e-4, conv_rate=0.15, default_shape=(3, 32, 32)
    ),
    "toy-mlp": ModelSpec(
        "toy MLP", lambda shape: MLP((2, 32, 32, 2)), "moons", ("moons",), lr=1e-2, default_shape=(2,)
    ),
}
MODELS = tuple(REGISTRY)


def spec(name: str) -> ModelSpec:
    """The registry entry of model ``name``, or a one-line error naming the choices."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return REGISTRY[name]


def build(name: str, seed: int | None = None, in_shape: tuple[int, ...] | None = None) -> nn.Module:
    """Build model ``name`` for examples of ``in_shape`` (default: its usual data) with Gaussian
    Glorot weights drawn from ``seed``."""
    entry = spec(name)
    model = entry.make(tuple(in_shape or entry.default_shape))
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    glorot_init_(model, generator)
    return model


def glorot_init_(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Gaussian Glorot (Xavier normal) weights and zero biases, drawn in a fixed order."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(".weight"):
                fan_out, fan_in = param.shape[0], param[0].numel()
                receptive = param[0, 0].numel() if param.dim() > 2 else 1
                std = math.sqrt(2.0 / (fan_in + fan_out * receptive))
                param.copy_(torch.randn(param.shape, generator=generator) * std)
            else:
                param.zero_()
    return model


def prunable_names(model_or_params) -> list[str]:
    """Names of the parameters that pruning may remove: every weight, never a bias."""
    names = (
        model_or_params.keys()
        if isinstance(model_or_params, dict)
        else (n for n, _ in model_or_params.named_parameters())
    )
    return [n for n in names if n.endswith(".weight")]


def output_layer_name(model_or_params) -> str:
    """The last prunable layer, which the paper prunes at half the rate."""
    return prunable_names(model_or_params)[-1]


def count_weights(model: nn.Module) -> int:
    """Number of prunable weights (266,200 for LeNet-300-100)."""
    params = dict(model.named_parameters())
    return sum(params[n].numel() for n in prunable_names(params))
