"""Training: data, loop, recipes and losses of the fusion networks (stage 1, SeAFusion); the refiner's
pseudo-target, losses, teacher training and distillation; model selection and shipping."""
