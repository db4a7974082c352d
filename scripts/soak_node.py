"""Soak test of the fusion node: N synthetic thermal + RGB pairs through ``fusion_node`` in its own process.

Reports the node process's memory (RSS) growth after a warm-up, the synchroniser's largest queues, drops,
latency and whether the node survived, as JSON. DDS traffic must stay on this machine: run it inside a
private network namespace, e.g.

    unshare -n sh -c 'ip link set lo up; ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST \\
        .venv/bin/python scripts/soak_node.py --pairs 10000 --out /tmp/soak.json'
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=100.0, help="pairs per second sent")
    ap.add_argument("--size", default="64x48", help="WxH of the images")
    ap.add_argument("--method", default="average")
    ap.add_argument("--warmup", type=int, default=1000, help="pairs before the reference RSS is taken")
    ap.add_argument("--out", required=True, help="JSON report path")
    args = ap.parse_args()
    if [name for _, name in socket.if_nameindex()] != ["lo"]:
        print("run this inside a private network namespace (unshare -n), see the docstring", file=sys.stderr)
        return 2

    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from sgdfuse_ros.ros.conversions import array_to_image_msg, ns_to_stamp

    width, height = (int(v) for v in args.size.split("x"))
    node_cmd = [sys.executable, "-m", "sgdfuse_ros.ros.fusion_node", "--ros-args", "-r", "__ns:=/soak",
                "-p", f"pipeline.stage1.method:={args.method}", "-p", "sync.min_interval:=0.002",
                "-p", "diagnostics_period:=0.5"]
    node_proc = subprocess.Popen(node_cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)
    rclpy.init()
    peer = rclpy.create_node("soak_driver", namespace="/soak")
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    pub_ir = peer.create_publisher(Image, "thermal/image", reliable)
    pub_rgb = peer.create_publisher(Image, "rgb/image", reliable)
    fused = [0]
    peer.create_subscription(Image, "fused_image", lambda m: fused.__setitem__(0, fused[0] + 1), reliable)
    diag: dict[str, str] = {}

    def on_diag(msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith("/soak/sgdfuse"):
                diag.clear()
                diag.update({kv.key: kv.value for kv in status.values})

    peer.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
    executor = SingleThreadedExecutor()
    executor.add_node(peer)

    def spin_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=max(0.0, min(0.01, end - time.monotonic())))

    deadline = time.monotonic() + 60
    while pub_ir.get_subscription_count() < 1 or pub_rgb.get_subscription_count() < 1:
        if time.monotonic() > deadline or node_proc.poll() is not None:
            log = node_proc.stdout.read() if node_proc.stdout else ""
            raise SystemExit(f"the node did not come up:\n{log}")
        spin_for(0.1)

    rng = np.random.default_rng(0)
    ir = rng.integers(0, 65536, (height, width), np.uint16)
    rgb = rng.integers(0, 256, (height, width, 3), np.uint8)
    samples: list[tuple[int, float]] = []
    period = 1.0 / args.rate
    start = time.monotonic()
    t0 = time.time_ns()
    rss_warm = None
    for k in range(args.pairs):
        stamp = t0 + round(k * period * 1e9)
        pub_rgb.publish(array_to_image_msg(rgb, "rgb8", Header(stamp=ns_to_stamp(stamp), frame_id="rgb")))
        pub_ir.publish(array_to_image_msg(ir, "mono16", Header(stamp=ns_to_stamp(stamp + 1_000_000),
                                                                frame_id="ir")))
        if k % 200 == 0:
            samples.append((k, rss_mb(node_proc.pid)))
        if k == args.warmup:
            rss_warm = rss_mb(node_proc.pid)
        spin_for(max(0.0, start + (k + 1) * period - time.monotonic()))
        if node_proc.poll() is not None:
            break
    spin_for(3.0)  # let the last outputs and a diagnostics report arrive
    alive = node_proc.poll() is None
    rss_end = rss_mb(node_proc.pid) if alive else float("nan")
    sent_s = time.monotonic() - start
    if alive:
        node_proc.send_signal(signal.SIGINT)
        try:
            node_proc.wait(20)
        except subprocess.TimeoutExpired:
            node_proc.kill()
    log_tail = (node_proc.stdout.read() if node_proc.stdout else "")[-2000:]
    peer.destroy_node()
    rclpy.shutdown()

    growth = (rss_end - rss_warm) / rss_warm * 100 if rss_warm else float("nan")
    report = {
        "pairs_sent": k + 1, "rate_hz": args.rate, "size": args.size, "method": args.method,
        "seconds": round(sent_s, 1), "node_alive_at_end": alive, "node_exit_code": node_proc.returncode,
        "rss_mb": {"first": samples[0][1], "after_warmup": rss_warm, "end": rss_end},
        "rss_growth_after_warmup_pct": round(growth, 2), "rss_samples": samples,
        "fused_received": fused[0],
        "diagnostics": {k: v for k, v in diag.items()
                        if k.startswith(("pairs.", "latency.", "output.", "sync.", "bad_messages."))
                        or "received" in k or "sync_" in k},
        "load_average": os.getloadavg(),
        "node_log_tail": log_tail,
    }
    Path(args.out).write_text(json.dumps(report, indent=2))
    brief = {k: v for k, v in report.items() if k not in ("rss_samples", "node_log_tail")}
    print(json.dumps(brief, indent=2))
    return 0 if alive and growth < 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
