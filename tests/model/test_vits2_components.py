"""VITS2's components on their own: every flow variant inverts, the duration discriminators'
outputs and loss terms (fast, tiny sizes; parity with the fork is test_vits2_parity.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model.duration_discriminator import build_duration_discriminator  # noqa: E402
from vitscfg.model.transformer_flow import FLOW_TYPES, FlowSizes, build_flow  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("flow_type", sorted(FLOW_TYPES))
@pytest.mark.parametrize("gin", [0, 4])
def test_every_flow_inverts(flow_type: str, gin: int) -> None:
    flow = build_flow(flow_type, FlowSizes(8, 16, 5, 1, 2, 2, gin)).eval()
    with torch.no_grad():
        for p in flow.parameters():  # the zero-initialised output convs would hide a bug
            p.add_(0.05 * torch.randn_like(p))
    x = torch.randn(2, 8, 11)
    mask = torch.ones(2, 1, 11)
    mask[1, :, 7:] = 0
    x = x * mask
    g = torch.randn(2, gin, 1) if gin else None
    with torch.no_grad():
        z = flow(x, mask, g=g)
        back = flow(z, mask, g=g, reverse=True)
    if flow.flows:  # other forks may register an empty (identity) flow
        assert not torch.allclose(z, x)
    torch.testing.assert_close(back, x, rtol=1e-4, atol=1e-5)


def test_unknown_flow_type() -> None:
    with pytest.raises(ValueError, match="unknown transformer_flow_type 'conv'"):
        build_flow("conv", FlowSizes(8, 16, 5, 1, 2, 2, 0))


@pytest.mark.parametrize(("kind", "terms"), [("dur_disc_1", 3), ("dur_disc_2", 1)])
def test_duration_discriminator(kind: str, terms: int) -> None:
    disc = build_duration_discriminator(kind, 16)
    x, mask = torch.randn(3, 16, 9), torch.ones(3, 1, 9)
    p_real, p_fake = disc(x, mask, torch.randn(3, 1, 9), torch.randn(3, 1, 9))
    assert p_real.shape == p_fake.shape == (3, 9, 1)
    assert torch.all((p_real > 0) & (p_real < 1))
    # dur_disc_1's loss has one term per item (the fork's losses iterate over its tensor).
    assert len(disc.loss_terms(p_real)) == terms
    with pytest.raises(ValueError, match="unknown duration_discriminator_type"):
        build_duration_discriminator("dur_disc_3", 16)
