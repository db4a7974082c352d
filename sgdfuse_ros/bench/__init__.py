"""Benchmarks: model cost (params, FLOPs, latency) and pipeline timings."""
