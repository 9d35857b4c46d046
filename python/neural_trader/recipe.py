"""The recipe's defaults, named once: masked pre-training, fine-tuning from a pre-trained encoder and the
multi-horizon trend model.

The library configs (:class:`~neural_trader.training.PretrainConfig`,
:class:`~neural_trader.workflows.PretrainOptions`, :class:`~neural_trader.workflows.TrainOptions`), the
kernels' defaults (:func:`neural_trader.kernels.mask`, :func:`neural_trader.kernels.augment`) and the
command line read these constants, so the three can never disagree. A run that departs from one of them
(the quickstart's smaller budget) says so in its output.

Example:
    >>> from neural_trader import recipe
    >>> recipe.PATCH_SIZE, recipe.MASK_RATIO, recipe.PRETRAIN_EPOCHS
    (7, 0.15, 50)
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------- masked pre-training
#: Whole patches of steps are hidden: a patch cannot be filled in by interpolating its neighbours, so the
#: encoder has to model the dynamics. Seven bars: a trading week and a half of daily bars.
MASK_STRATEGY: Final = "patch"
PATCH_SIZE = 7
#: Share of steps hidden per window (BERT's 15%): enough context is left to infer them.
MASK_RATIO = 0.15
PRETRAIN_EPOCHS = 50
PRETRAIN_BATCH_SIZE = 512
PRETRAIN_PATIENCE = 10
#: Weight of the latent-spread penalty next to the masked reconstruction error.
LATENT_WEIGHT = 0.1
#: Cosine schedule down to this absolute learning rate (not a fraction of the peak).
PRETRAIN_MIN_LR = 1e-5
GRAD_CLIP = 1.0
#: Probabilities of each augmentation per window (ranges: the kernel's defaults).
TIME_WARP_PROB = 0.5
JITTER_PROB = 0.5
VOL_SCALE_PROB = 0.3

# ---------------------------------------------------------------- fine-tuning from a pre-trained encoder
#: The loaded encoder stays frozen this many epochs (the new head learns to read it first), then
#: everything trains at the learning rate times UNFREEZE_LR_FACTOR.
FREEZE_EPOCHS = 10
UNFREEZE_LR_FACTOR = 0.5

# ------------------------------------------------------------------------------- trend_attention
#: The heads trend_attention trains together, in bars.
TREND_HORIZONS = (7, 30)
#: Multi-task loss weights: the trend score (regression) and the up/down logits (classification).
REGRESSION_WEIGHT = 1.0
CLASSIFICATION_WEIGHT = 0.5
