"""Both losses against values computed by hand."""

import math

import pytest
import torch

from trainer.losses import AsymmetricFocalLoss, make_loss, positive_weights


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_positive_weights_are_negatives_over_positives():
    targets = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0]], dtype=torch.float32)
    # class 0: 3 positives, 1 negative; class 1: 1 and 3; class 2: none -> 1
    assert positive_weights(targets).tolist() == pytest.approx([1 / 3, 3.0, 1.0])


def test_weighted_bce_by_hand():
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.5], [0.0, -0.5]])
    weights = [3.0, 1 / 3]  # class 0: 1 positive of 4; class 1: 3 of 4
    expected = 0.0
    for row in range(4):
        for column in range(2):
            p, y = sigmoid(logits[row, column].item()), targets[row, column].item()
            expected += -(weights[column] * y * math.log(p) + (1 - y) * math.log(1 - p))
    expected /= 8
    assert make_loss("bce", targets)(logits, targets).item() == pytest.approx(expected, rel=1e-5)


def test_asymmetric_focal_loss_by_hand():
    loss = AsymmetricFocalLoss(gamma_pos=1.0, gamma_neg=4.0, clip=0.05)
    logits = torch.tensor([[1.0, -2.0, 0.5]])
    targets = torch.tensor([[1.0, 0.0, 0.0]])
    p = [sigmoid(x) for x in (1.0, -2.0, 0.5)]
    positive = -((1 - p[0]) ** 1.0) * math.log(p[0])
    negatives = 0.0
    for q in p[1:]:
        shifted = max(q - 0.05, 0.0)
        negatives += -(shifted**4.0) * math.log(1 - shifted)
    assert loss(logits, targets).item() == pytest.approx((positive + negatives) / 3, rel=1e-5)


def test_asymmetric_focal_loss_ignores_easy_negatives():
    loss = AsymmetricFocalLoss(clip=0.05)
    very_negative = torch.tensor([[-6.0, -5.0]])  # p < 0.05: shifted to zero
    assert loss(very_negative, torch.zeros(1, 2)).item() == pytest.approx(0.0, abs=1e-9)


def test_focal_loss_without_focusing_is_plain_bce():
    loss = AsymmetricFocalLoss(gamma_pos=0.0, gamma_neg=0.0, clip=0.0)
    logits = torch.tensor([[0.3, -1.2], [2.0, 0.1]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    assert loss(logits, targets).item() == pytest.approx(expected.item(), rel=1e-5)


def test_unknown_loss_is_rejected():
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("hinge", torch.zeros(2, 2))
