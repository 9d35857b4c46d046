"""Small seeded models and windows for the GPU suite."""

from __future__ import annotations

import numpy as np
import torch

import neural_trader as nt

SIZES = dict(hidden_size=16, num_layers=2)


def small_model(name: str) -> nt.TwinModel:
    """A small, seeded model of registry name ``name`` on 5 input features."""
    torch.manual_seed(0)
    if name == "bilstm_classifier":
        return nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=5, **SIZES))
    if name == "simple_lstm":
        return nt.SimpleLSTM(nt.SimpleLSTMConfig(input_size=5, **SIZES))
    if name == "enhanced_simple_lstm":
        return nt.EnhancedSimpleLSTM(nt.EnhancedSimpleLSTMConfig(input_size=5, num_heads=2, **SIZES))
    if name == "trend_attention":
        return nt.TrendAttention(
            nt.TrendAttentionConfig(input_size=5, num_heads=2, horizons=[7, 30], **SIZES)
        )
    if name == "lstm_attention":
        cfg = nt.LSTMAttentionConfig(input_size=5, output_size=2, horizon=4, hidden_size=16, num_heads=2)
        return nt.LSTMAttention(cfg)
    if name == "lstm_encoder":
        from neural_trader.models import PretrainedEncoder, PretrainedEncoderConfig

        return PretrainedEncoder(PretrainedEncoderConfig(input_size=5, **SIZES))
    raise KeyError(name)


def windows(batch: int, steps: int = 24, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, steps, 5)).astype(np.float32)
