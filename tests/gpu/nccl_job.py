"""A one-process ``torchrun`` job on CUDA: the trainer joins an NCCL process group by itself and trains.

python -m torch.distributed.run --nproc_per_node=1 tests/gpu/nccl_job.py OUT
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, TensorDataset

from neural_trader.models import BiLSTMClassifier, BiLSTMClassifierConfig
from neural_trader.training import ClassificationTask, Trainer, TrainerConfig


def main(out: Path) -> None:
    torch.manual_seed(0)
    x, y = torch.randn(256, 16, 5), torch.randint(0, 2, (256, 1)).float()
    train = DataLoader(
        TensorDataset(x[:192], y[:192]),
        batch_size=32,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    val = DataLoader(TensorDataset(x[192:], y[192:]), batch_size=64)
    model = BiLSTMClassifier(BiLSTMClassifierConfig(input_size=5, hidden_size=16))
    cfg = TrainerConfig(epochs=2, device="auto", progress=False, out_dir=str(out / "run"))
    trainer = Trainer(model, ClassificationTask(), cfg)
    trainer.fit(train, val)
    print(f"backend {dist.get_backend()} on {trainer.device}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
