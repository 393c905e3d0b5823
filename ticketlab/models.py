"""The networks of Frankle & Carbin (2019): LeNet-300-100, Conv-2/4/6, and a toy MLP.

Every model is a plain ``nn.Module`` whose prunable parameters are its weight matrices and
kernels (``*.weight``); biases are never pruned. Initialisation is Gaussian Glorot, as in
the paper, with zero biases.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .errors import ConfigError

MODELS = ("lenet", "conv2", "conv4", "conv6", "toy-mlp")


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


def build(name: str, seed: int | None = None, in_shape: tuple[int, ...] | None = None) -> nn.Module:
    """Build model ``name`` with Gaussian Glorot weights drawn from ``seed``."""
    if name == "lenet":
        model = MLP((784, 300, 100, 10))
    elif name == "toy-mlp":
        model = MLP((2, 32, 32, 2))
    elif name in ("conv2", "conv4", "conv6"):
        depth = int(name[-1])
        channels = (64, 64, 128, 128, 256, 256)[:depth]
        model = ConvNet(channels, in_shape=in_shape or (3, 32, 32))
    else:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
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
    names = model_or_params.keys() if isinstance(model_or_params, dict) else (
        n for n, _ in model_or_params.named_parameters())
    return [n for n in names if n.endswith(".weight")]


def output_layer_name(model_or_params) -> str:
    """The last prunable layer, which the paper prunes at half the rate."""
    return prunable_names(model_or_params)[-1]


def count_weights(model: nn.Module) -> int:
    """Number of prunable weights (266,200 for LeNet-300-100)."""
    params = dict(model.named_parameters())
    return sum(params[n].numel() for n in prunable_names(params))
