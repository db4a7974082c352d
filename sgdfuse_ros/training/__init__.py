"""Training of the fusion networks (stage 1, SeAFusion; reusable by the refiner): data, loop, recipes."""
