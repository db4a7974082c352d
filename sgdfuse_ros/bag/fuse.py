"""``sgdfuse bag fuse IN OUT``: the node's processing, offline and deterministic, from one bag to another.

Messages are read in receive-time order, checked like the node checks them, synchronised with the same
synchroniser and parameters, and every synchronised pair is fused (no back-pressure offline). Outputs carry
the RGB message's header and are written at the receive time of the message that completed the pair.

The returned ``FuseReport`` accounts for every input message:
per topic ``in == bad + matched + dropped by sync (by reason, end_of_stream included)``, and
``pairs synced == fused + rejected``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..pipeline import FusionPipeline
from ..stream.encodings import BadMessage, check_fields
from ..stream.fusion import fuse_messages
from ..stream.node_params import NodeParams
from ..stream.sync import DROP_REASONS, make_synchronizer
from ..stream.temporal import StreamTemporal
from .io import IMAGE_TYPE, image_message, open_reader, open_writer, stamp_ns, typestore

log = logging.getLogger(__name__)
UNDECODABLE = "undecodable"  # a message rosbags cannot deserialise as sensor_msgs/Image


@dataclass
class TopicCount:
    topic: str
    received: int = 0
    bad: dict[str, int] = field(default_factory=dict)
    matched: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.received == sum(self.bad.values()) + self.matched + sum(self.dropped.values())


@dataclass
class FuseReport:
    thermal: TopicCount
    rgb: TopicCount
    pairs_synced: int = 0
    pairs_fused: int = 0
    pairs_rejected: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)  # topic -> messages written
    other_messages: int = 0  # messages of other topics, not used
    clock_resets: int = 0
    alignment_score: float | None = None  # the last IR-VIS alignment score (temporal.alignment_every_n)
    thermal_agc_resets: int = 0  # thermal normalisation restarts on a scene change

    @property
    def balanced(self) -> bool:
        return (self.thermal.balanced and self.rgb.balanced and self.thermal.matched == self.pairs_synced
                and self.rgb.matched == self.pairs_synced
                and self.pairs_synced == self.pairs_fused + sum(self.pairs_rejected.values()))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "balanced": self.balanced}

    def summary(self) -> str:
        lines = []
        for t in (self.thermal, self.rgb):
            drops = ", ".join(f"{k} {v}" for k, v in t.dropped.items() if v) or "none"
            bad = ", ".join(f"{k} {v}" for k, v in t.bad.items()) or "none"
            lines.append(f"{t.topic}: in {t.received}, bad {sum(t.bad.values())} ({bad}), "
                         f"synced {t.matched}, dropped by sync {sum(t.dropped.values())} ({drops})")
        rejected = ", ".join(f"{k} {v}" for k, v in self.pairs_rejected.items()) or "none"
        lines.append(f"pairs: synced {self.pairs_synced}, fused {self.pairs_fused}, rejected "
                     f"{sum(self.pairs_rejected.values())} ({rejected}); clock resets {self.clock_resets}")
        lines.append("written: " + ", ".join(f"{k} {v}" for k, v in self.outputs.items()))
        if self.alignment_score is not None:
            lines.append(f"alignment score {self.alignment_score:.3f}; thermal normalisation restarts "
                         f"{self.thermal_agc_resets}")
        if self.other_messages:
            lines.append(f"other topics: {self.other_messages} messages ignored")
        lines.append("every input message accounted for" if self.balanced else "ACCOUNTING MISMATCH")
        return "\n".join(lines)


def _absolute(topic: str) -> str:
    return topic if topic.startswith("/") else "/" + topic


def fuse_bag(in_path: str | Path, out_path: str | Path, pipeline: FusionPipeline,
             params: NodeParams | None = None) -> FuseReport:
    """Fuse every synchronised pair of ``in_path`` into a new bag ``out_path`` (topics from ``params``)."""
    p = params or NodeParams()
    if p.sync.implementation == "message_filters":
        log.warning("sync.implementation is message_filters: offline, the core synchroniser pairs (the pairs "
                    "can differ from the node's, see docs/node.md)")
    topics = [_absolute(p.topics.thermal), _absolute(p.topics.rgb)]
    report = FuseReport(TopicCount(topics[0]), TopicCount(topics[1]))
    counts = [report.thermal, report.rgb]
    store = typestore()
    out_names = {"fused": p.topics.fused, "mask_ir": p.topics.mask_ir, "mask_vis": p.topics.mask_vis,
                 "initial": p.topics.initial}
    pairs: list[tuple[Any, Any]] = []
    temporal = StreamTemporal(p.temporal, pipeline.thermal_percentiles, pipeline.homography)
    sync = make_synchronizer(p.sync, lambda thermal, rgb: pairs.append((thermal, rgb)))
    with open_reader(in_path) as reader, open_writer(out_path) as writer:
        connections: dict[str, Any] = {}
        for conn, log_time, raw in reader.messages():
            if conn.topic not in topics:
                report.other_messages += 1
                continue
            index = topics.index(conn.topic)
            counts[index].received += 1
            try:
                if conn.msgtype != IMAGE_TYPE:
                    raise BadMessage(UNDECODABLE, f"{conn.topic}: type {conn.msgtype}, expected {IMAGE_TYPE}")
                try:
                    msg = store.deserialize_cdr(raw, IMAGE_TYPE)
                except Exception as err:  # rosbags raises several types for corrupt data
                    raise BadMessage(UNDECODABLE, f"{conn.topic}: {err}") from None
                check_fields(msg)
            except BadMessage as err:
                bad = counts[index].bad
                if err.kind not in bad:
                    log.warning("bad message on %s (%s): %s; further ones are only counted",
                                conn.topic, err.kind, err)
                bad[err.kind] = bad.get(err.kind, 0) + 1
                continue
            sync.add(index, stamp_ns(msg.header), msg)
            for thermal, rgb in pairs:  # the pairs this message completed
                _fuse_one(pipeline, p, thermal, rgb, log_time, report, writer, store, connections, out_names,
                          temporal)
            pairs.clear()
    sync.close()
    temporal.alignment.wait()
    report.alignment_score, report.thermal_agc_resets = temporal.alignment.score, temporal.agc.resets
    stats = sync.stats
    report.pairs_synced, report.clock_resets = stats.sets, stats.resets
    for i, count in enumerate(counts):
        count.matched = stats.matched[i]
        count.dropped = {reason: stats.dropped[reason][i] for reason in DROP_REASONS}
    return report


def _fuse_one(pipeline: FusionPipeline, p: NodeParams, thermal: Any, rgb: Any, log_time: int,
              report: FuseReport, writer: Any, store: Any, connections: dict[str, Any],
              out_names: dict[str, str], temporal: StreamTemporal) -> None:
    try:
        frame = fuse_messages(pipeline, thermal, rgb, encoding=p.publish.encoding,
                              require_same_size=p.require_same_size, fused=p.publish.fused,
                              masks=p.publish.masks, initial=p.publish.initial, temporal=temporal)
    except BadMessage as err:
        if err.kind not in report.pairs_rejected:
            log.warning("pair rejected (%s): %s; further ones are only counted", err.kind, err)
        report.pairs_rejected[err.kind] = report.pairs_rejected.get(err.kind, 0) + 1
        return
    report.pairs_fused += 1
    for name, image in frame.images.items():
        topic = _absolute(out_names[name])
        if topic not in connections:
            connections[topic] = writer.add_connection(topic, IMAGE_TYPE, typestore=store)
        msg = image_message(store, image, stamp_ns(rgb.header), rgb.header.frame_id)
        writer.write(connections[topic], log_time, store.serialize_cdr(msg, IMAGE_TYPE))
        report.outputs[topic] = report.outputs.get(topic, 0) + 1


def seconds_per_pair(bag: str | Path, pipeline: FusionPipeline) -> float:
    """What the node does for one pair (decode, fuse, encode) on the bag's first pair: median of 3 runs."""
    store = typestore()
    first: dict[str, Any] = {}
    with open_reader(bag) as reader:
        for conn, _, raw in reader.messages():
            first.setdefault(conn.topic, store.deserialize_cdr(raw, conn.msgtype))
            if len(first) == 2:
                break
    times = []
    for _ in range(3):
        t = time.perf_counter()
        fuse_messages(pipeline, first["/thermal/image"], first["/rgb/image"])
        times.append(time.perf_counter() - t)
    return sorted(times)[1]
