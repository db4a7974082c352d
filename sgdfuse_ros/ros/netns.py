"""Keeping DDS traffic off real networks: detect a loopback-only network namespace, or run a command in one.

``/sys/class/net`` is no test (sysfs still lists the host's interfaces inside ``unshare -n``);
``socket.if_nameindex()`` asks the kernel about the current namespace.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

ROS_LOCAL_ENV = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_LOCALHOST_ONLY": "1"}
MARK = "SGDFUSE_PRIVATE_NETNS"  # set in the re-executed command: it must find itself in a private namespace
_UP_AND_EXEC = 'ip link set lo up && exec "$@"'


def only_loopback() -> bool:
    """True when the loopback is this network namespace's only interface."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def unshare_flags() -> list[str] | None:
    """The ``unshare`` flags that give a private network namespace here, with ``ip link set lo up`` working:
    ``-n`` (root, or CAP_SYS_ADMIN), else ``-r -n`` (an unprivileged user namespace); None if neither."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    for flags in (["-n"], ["-r", "-n"]):
        try:
            probe = subprocess.run(["unshare", *flags, "sh", "-c", "ip link set lo up"], capture_output=True,
                                   timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if probe.returncode == 0:
            return flags
    return None


def run_in_private_netns(argv: list[str], flags: list[str]) -> int:
    """Run ``argv`` under ``unshare <flags>`` with the loopback up and ROS discovery kept local; its exit code."""
    env = {**os.environ, **ROS_LOCAL_ENV, MARK: "1"}
    return subprocess.run(["unshare", *flags, "sh", "-c", _UP_AND_EXEC, "sh", *argv], env=env).returncode
