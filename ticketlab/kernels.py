"""Sparse kernels for a pruned layer: cost proportional to the weights that survive.

A pruned layer's surviving weights of K runs are stored in CSR order (run, row, column), and
three kernels, compiled by numba, do what training and evaluation need:

- ``spmm``: the layer's pre-activations, out[k, i, :] = bias[k, i] + Σ_j w[k, i, j] · x[k, j, :],
  over the survivors only. The batch (or a tile of evaluation images) is the inner, vectorised
  axis: each surviving weight adds a multiple of one contiguous row of xᵀ to an accumulator that
  stays in registers, so the work is 64 multiply-adds per survivor and image tile, with no gather.
- ``sddmm``: the weight gradient at the survivors only, g[p] = Σ_b gradᵀ[k, i, b] · xᵀ[k, j, b].

Why hand-written: torch's CSR kernels (MKL) lost to dense products above about 10% of LeNet's
first layer on the course machine; these win from about half of it (measured: docs/engine.md).

Numbers: each output and each gradient entry is computed by one thread in a fixed order (the
survivors in CSR order; the batch sum in the order the compiler vectorised it once), so a run's
numbers do not depend on the thread count or on the runs beside it. They round differently from
dense products, whose summation order is another one.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from numba import njit, prange

TILE = 64  # images per accumulator: four AVX-512 (eight AVX2) registers of float32
_FLAGS = {"contract", "reassoc"}  # fused multiply-adds and a vectorised batch sum; no NaN/inf assumptions


@njit(parallel=True, fastmath=_FLAGS, cache=True)
def _spmm(crow, col, val, bias, xt, out):  # pragma: no cover - compiled
    runs, rows, tiles, _ = out.shape
    shared = xt.shape[0] == 1
    for s in range(tiles):  # one tile of xᵀ (in x TILE) at a time stays in the L2 cache
        for t in prange(runs * rows):
            k = t // rows
            i = t - k * rows
            kx = 0 if shared else k
            acc = np.zeros(TILE, np.float32)
            for p in range(crow[t], crow[t + 1]):
                w = val[p]
                j = col[p]
                for b in range(TILE):
                    acc[b] += w * xt[kx, s, j, b]
            for b in range(TILE):
                out[k, i, s, b] = acc[b] + bias[k, i]


@njit(parallel=True, fastmath=_FLAGS, cache=True)
def _sddmm(crow, col, gt, xt, grad):  # pragma: no cover - compiled
    runs, tiles, rows, _ = gt.shape
    for t in prange(runs * rows):
        k = t // rows
        i = t - k * rows
        for p in range(crow[t], crow[t + 1]):
            j = col[p]
            total = np.float32(0.0)
            for s in range(tiles):
                part = np.float32(0.0)
                for b in range(TILE):
                    part += gt[k, s, i, b] * xt[k, s, j, b]
                total += part
            grad[p] = total


def tiles(n: int) -> int:
    """How many tiles hold ``n`` images."""
    return -(-n // TILE)


def tiled(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """(K, in, n) → (K, tiles, in, TILE), zero-padded: the layout the kernels read (a tile's rows
    are 256 bytes apart, where (in, n) rows would be n·4 bytes apart and collide in the cache).
    Written into ``out`` when given (its padding must already be 0)."""
    k, inp, n = x.shape
    out = out if out is not None else torch.zeros(k, tiles(n), inp, TILE)
    for s in range(tiles(n)):
        width = min(TILE, n - s * TILE)
        out[:, s, :, :width] = x[:, :, s * TILE : s * TILE + width]
    return out


def _threads() -> None:
    """Numba's threads follow torch's (a notebook that pins torch to one thread pins both)."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def spmm(
    crow: torch.Tensor, col: torch.Tensor, val: torch.Tensor, bias: torch.Tensor, xt: torch.Tensor
) -> torch.Tensor:
    """(K, rows, tiles·TILE) pre-activations of the CSR layer on ``tiled`` inputs xt (K or 1, tiles, in, TILE)."""
    runs, rows = bias.shape
    out = torch.empty((runs, rows, xt.shape[1], TILE), dtype=torch.float32)
    _threads()
    _spmm(crow.numpy(), col.numpy(), val.detach().numpy(), bias.detach().numpy(), xt.numpy(), out.numpy())
    return out.view(runs, rows, -1)


def sddmm(crow: torch.Tensor, col: torch.Tensor, gt: torch.Tensor, xt: torch.Tensor, grad: torch.Tensor) -> None:
    """Write into ``grad`` (one value per CSR entry (i, j) of run k) Σ_b gᵀ[k, i, b] · xᵀ[k, j, b],
    from the ``tiled`` output gradient gt (K, tiles, rows, TILE) and inputs xt (K, tiles, in, TILE)."""
    _threads()
    _sddmm(crow.numpy(), col.numpy(), gt.numpy(), xt.numpy(), grad.numpy())
