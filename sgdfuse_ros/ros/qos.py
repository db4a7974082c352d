"""QoS profiles of the node's subscriptions and publishers."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy


def image_qos(reliability: str, depth: int) -> QoSProfile:
    """Keep-last ``depth``, volatile; ``best_effort`` is the sensor-data profile of camera drivers."""
    best_effort = reliability == "best_effort"
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )
