"""The sparse kernels compute what dense products compute, at the survivors only, and a run's
numbers do not depend on the thread count or on the runs beside it."""

import pytest
import torch

from ticketlab import kernels


def csr(mask: torch.Tensor):
    """CSR row pointers (over every run's rows) and in-run columns of a (K, rows, cols) mask."""
    crow = torch.cat([torch.zeros(1, dtype=torch.long), mask.sum(2).flatten().cumsum(0)])
    return crow, mask.nonzero()[:, 2].to(torch.int32)


@pytest.fixture
def layer():
    g = torch.Generator().manual_seed(0)
    k, rows, cols = 3, 7, 50
    weight = torch.randn(k, rows, cols, generator=g)
    mask = torch.rand(k, rows, cols, generator=g) < torch.tensor([0.9, 0.3, 0.02]).view(3, 1, 1)
    mask[1, 2] = False  # a row with no survivor
    return weight * mask, mask, torch.randn(k, rows, generator=g)


def padded(x: torch.Tensor) -> torch.Tensor:
    """(K, in, n) in the kernels' tiled layout."""
    return kernels.tiled(x)


@pytest.mark.parametrize("images", [1, 60, 64, 130])
def test_spmm_matches_the_dense_product_per_run_and_shared(layer, images):
    weight, mask, bias = layer
    crow, col = csr(mask)
    x = torch.randn(3, 50, images)
    out = kernels.spmm(crow, col, weight[mask], bias, padded(x))[..., :images]
    torch.testing.assert_close(out, torch.baddbmm(bias.unsqueeze(2), weight, x), rtol=1e-5, atol=1e-5)
    shared = torch.randn(1, 50, images)
    out = kernels.spmm(crow, col, weight[mask], bias, padded(shared))[..., :images]
    torch.testing.assert_close(
        out, torch.baddbmm(bias.unsqueeze(2), weight, shared.expand(3, -1, -1)), rtol=1e-5, atol=1e-5
    )
    assert torch.equal(out[1, 2], bias[1, 2].expand(images))  # no survivor: the bias alone


def test_sddmm_is_the_weight_gradient_at_the_survivors(layer):
    weight, mask, _ = layer
    crow, col = csr(mask)
    x, grad_out = torch.randn(3, 50, 60), torch.randn(3, 7, 60)
    grad = torch.full((int(mask.sum()),), float("nan"))
    kernels.sddmm(crow, col, padded(grad_out), padded(x), grad)
    torch.testing.assert_close(grad, torch.bmm(grad_out, x.transpose(1, 2))[mask], rtol=1e-5, atol=1e-5)


def test_numbers_do_not_depend_on_threads_or_neighbours(layer):
    weight, mask, bias = layer
    x, grad_out = padded(torch.randn(3, 50, 60)), padded(torch.randn(3, 7, 60))
    crow, col = csr(mask)

    def both():
        out = kernels.spmm(crow, col, weight[mask], bias, x)
        grad = torch.empty(int(mask.sum()))
        kernels.sddmm(crow, col, grad_out, x, grad)
        return out, grad

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = both()
        torch.set_num_threads(2)
        two = both()
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one[0], two[0]) and torch.equal(one[1], two[1])
    crow1, col1 = csr(mask[1:2])  # run 1 alone
    alone = kernels.spmm(crow1, col1, weight[1:2][mask[1:2]], bias[1:2], x[1:2])
    assert torch.equal(alone[0], one[0][1])


def test_tiled_pads_with_zeros_and_keeps_every_value():
    x = torch.randn(2, 5, 70)
    tiles = kernels.tiled(x)
    assert tiles.shape == (2, 2, 5, kernels.TILE)
    assert torch.equal(tiles.transpose(1, 2).reshape(2, 5, -1)[..., :70], x)
    assert not tiles[:, 1, :, 6:].any()
