"""Learning-rate schedules behind one interface, so the training loop need not know which one runs."""

from __future__ import annotations

import torch

from trainer.config import SCHEDULES


class Schedule:
    """Calls the scheduler at the point its kind expects: per batch (one-cycle) or per epoch."""

    def __init__(self, kind: str, optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int,
                 plateau_patience: int) -> None:
        self.kind = kind
        rates = [group["lr"] for group in optimizer.param_groups]  # groups may learn at different rates
        self.scheduler: torch.optim.lr_scheduler.LRScheduler
        if kind == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5,
                                                                        patience=plateau_patience)
        elif kind == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs,
                                                                        eta_min=min(rates) / 100)
        elif kind == "onecycle":
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=rates, total_steps=epochs * max(steps_per_epoch, 1))
        else:
            raise ValueError(f"unknown learning-rate schedule {kind!r}: choose one of {', '.join(SCHEDULES)}")

    def after_batch(self) -> None:
        if self.kind == "onecycle":
            self.scheduler.step()

    def after_epoch(self, validation_loss: float) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(validation_loss)
        elif self.kind == "cosine":
            self.scheduler.step()
