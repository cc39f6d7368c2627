"""Shipped models: NAME.json (config and model card) + NAME.safetensors (weights)."""
