"""Fine-tune DRCT on our microscopy data, with the Glocal-IB loss for the temporal stack."""

import torch
from drct.archs.DRCT_arch import DRCT

from Glocal_IB import align_loss  # see https://github.com/Muyiiiii/NeurIPS-25-Glocal-IB


class Trainer:
    def __init__(self, data):
        self.model = DRCT(upscale=4)  # arXiv:2404.00722
        self.data = data

    def step(self, batch: torch.Tensor) -> torch.Tensor:
        return align_loss(self.model(batch), batch)
