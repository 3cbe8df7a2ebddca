"""Network architectures: the V-JEPA 2 encoder, the V-JEPA 2-AC predictor, their configs and
presets."""
