"""The core diagnostics ``Report`` -> ``diagnostic_msgs/DiagnosticArray``."""

from __future__ import annotations

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from ..stream.stats import Report

_LEVELS = {0: DiagnosticStatus.OK, 1: DiagnosticStatus.WARN, 2: DiagnosticStatus.ERROR}


def to_diagnostic_array(report: Report, name: str, hardware_id: str, stamp: Time) -> DiagnosticArray:
    status = DiagnosticStatus(level=_LEVELS[report.level], name=name, message=report.message,
                              hardware_id=hardware_id,
                              values=[KeyValue(key=k, value=v) for k, v in report.values.items()])
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = stamp
    return msg


def diagnostic_values(msg: DiagnosticArray, name: str) -> dict[str, str]:
    """The key/values of the status called ``name`` ({} when absent)."""
    for status in msg.status:
        if status.name == name:
            return {kv.key: kv.value for kv in status.values}
    return {}
