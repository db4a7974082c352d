"""Fusion networks (plain torch.nn.Module, one component per file) and their registry/checkpoints."""

from .build import MODELS, build_model, load_model, read_checkpoint, save_checkpoint

__all__ = ["MODELS", "build_model", "load_model", "read_checkpoint", "save_checkpoint"]
