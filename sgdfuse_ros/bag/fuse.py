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

from ..errors import InputError
from ..pipeline import FusionPipeline
from ..stream.encodings import UNDECODABLE, BadMessage
from ..stream.fusion import accept_message, fuse_messages
from ..stream.node_params import NodeParams
from ..stream.sync import DROP_REASONS, make_synchronizer
from ..stream.temporal import StreamTemporal
from .io import IMAGE_TYPE, bag_output, image_message, open_reader, open_writer, stamp_ns, typestore

log = logging.getLogger(__name__)


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
    input_truncated: str = ""  # how much of a truncated input could be read ("" when it was complete)
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
        if self.input_truncated:
            lines.append(f"input truncated: {self.input_truncated}")
        lines.append("every input message accounted for" if self.balanced else "ACCOUNTING MISMATCH")
        return "\n".join(lines)


def _absolute(topic: str) -> str:
    return topic if topic.startswith("/") else "/" + topic


def fuse_bag(in_path: str | Path, out_path: str | Path, pipeline: FusionPipeline,
             params: NodeParams | None = None) -> FuseReport:
    """Fuse every synchronised pair of ``in_path`` into a new bag ``out_path`` (topics from ``params``).

    ``out_path`` appears only once complete (``bag_output``). An input without messages on both image
    topics, or one in which no pair could be fused, is an InputError and leaves no output.
    """
    with bag_output(out_path, inputs=(in_path,)) as work:
        p = params or NodeParams()
        if p.sync.implementation == "message_filters":
            log.warning("sync.implementation is message_filters: offline, the core synchroniser pairs (the "
                        "pairs can differ from the node's, see docs/node.md)")
        report = _BagFusion(pipeline, p).run(in_path, work)
        if not report.pairs_fused:
            rejected = ", ".join(f"{k} {v}" for k, v in report.pairs_rejected.items()) or "none"
            bad = ", ".join(f"{k} {v}" for t in (report.thermal, report.rgb) for k, v in t.bad.items()) or "none"
            raise InputError(f"{in_path}: no pair was fused (pairs synced {report.pairs_synced}, rejected: "
                             f"{rejected}; bad messages: {bad}), nothing written")
    return report


def _check_topics(path: str | Path, reader: Any, topics: list[str]) -> None:
    counts = {c.topic: 0 for c in reader.connections}
    for c in reader.connections:
        counts[c.topic] += c.msgcount
    missing = [t for t in topics if not counts.get(t)]
    if missing:
        present = ", ".join(f"{t} ({n})" for t, n in counts.items()) or "none"
        raise InputError(f"{path}: no messages on {', '.join(missing)} (topics in the bag: {present}; "
                         "set topics.thermal / topics.rgb with --params)")


class _BagFusion:
    """One ``bag fuse`` run: reads, checks, synchronises, fuses and writes; counts into ``report``."""

    def __init__(self, pipeline: FusionPipeline, p: NodeParams) -> None:
        self.pipeline, self.p = pipeline, p
        self.topics = [_absolute(p.topics.thermal), _absolute(p.topics.rgb)]
        self.report = FuseReport(TopicCount(self.topics[0]), TopicCount(self.topics[1]))
        self.counts = [self.report.thermal, self.report.rgb]
        self.store = typestore()
        self.out_names = {"fused": p.topics.fused, "mask_ir": p.topics.mask_ir, "mask_vis": p.topics.mask_vis,
                          "initial": p.topics.initial}
        self.pairs: list[tuple[Any, Any]] = []
        self.temporal = StreamTemporal(p.temporal, pipeline.thermal_percentiles, pipeline.homography)
        self.sync = make_synchronizer(p.sync, lambda thermal, rgb: self.pairs.append((thermal, rgb)))
        self.connections: dict[str, Any] = {}
        self.writer: Any = None

    def run(self, in_path: str | Path, out_path: Path) -> FuseReport:
        with open_reader(in_path) as reader:
            _check_topics(in_path, reader, self.topics)
            if getattr(reader, "truncated", False):
                self.report.input_truncated = (f"read {reader.message_count} messages, {reader.read_bytes} of "
                                               f"{reader.total_bytes} bytes")
            with open_writer(out_path) as self.writer:
                log_time = 0
                for conn, log_time, raw in reader.messages():
                    self._add(conn, raw)
                    self._fuse_pairs(log_time)
                self.sync.flush()  # end of input: the last pair is fused too
                self._fuse_pairs(log_time)
                self.sync.close()
        stats, report = self.sync.stats, self.report
        self.temporal.alignment.wait()
        report.alignment_score, report.thermal_agc_resets = self.temporal.alignment.score, self.temporal.agc.resets
        report.pairs_synced, report.clock_resets = stats.sets, stats.resets
        for i, count in enumerate(self.counts):
            count.matched = stats.matched[i]
            count.dropped = {reason: stats.dropped[reason][i] for reason in DROP_REASONS}
        return report

    def _add(self, conn: Any, raw: bytes) -> None:
        if conn.topic not in self.topics:
            self.report.other_messages += 1
            return
        index = self.topics.index(conn.topic)
        self.counts[index].received += 1
        try:
            if conn.msgtype != IMAGE_TYPE:
                raise BadMessage(UNDECODABLE, f"{conn.topic}: type {conn.msgtype}, expected {IMAGE_TYPE}")
            try:
                msg = self.store.deserialize_cdr(raw, IMAGE_TYPE)
            except Exception as err:  # rosbags raises several types for corrupt data
                raise BadMessage(UNDECODABLE, f"{conn.topic}: {err}") from None
            accept_message(msg, self.pipeline)
        except BadMessage as err:
            bad = self.counts[index].bad
            if err.kind not in bad:
                log.warning("bad message on %s (%s): %s; further ones are only counted", conn.topic, err.kind, err)
            bad[err.kind] = bad.get(err.kind, 0) + 1
            return
        self.sync.add(index, stamp_ns(msg.header), msg)

    def _fuse_pairs(self, log_time: int) -> None:
        """Fuse the pairs the last message (or the flush) completed."""
        for thermal, rgb in self.pairs:
            self._fuse_one(thermal, rgb, log_time)
        self.pairs.clear()

    def _fuse_one(self, thermal: Any, rgb: Any, log_time: int) -> None:
        p, report = self.p, self.report
        try:
            frame = fuse_messages(self.pipeline, thermal, rgb, encoding=p.publish.encoding,
                                  require_same_size=p.require_same_size, fused=p.publish.fused,
                                  masks=p.publish.masks, initial=p.publish.initial, temporal=self.temporal)
        except BadMessage as err:
            if err.kind not in report.pairs_rejected:
                log.warning("pair rejected (%s): %s; further ones are only counted", err.kind, err)
            report.pairs_rejected[err.kind] = report.pairs_rejected.get(err.kind, 0) + 1
            return
        report.pairs_fused += 1
        for name, image in frame.images.items():
            topic = _absolute(self.out_names[name])
            if topic not in self.connections:
                self.connections[topic] = self.writer.add_connection(topic, IMAGE_TYPE, typestore=self.store)
            msg = image_message(self.store, image, stamp_ns(rgb.header), rgb.header.frame_id)
            self.writer.write(self.connections[topic], log_time, self.store.serialize_cdr(msg, IMAGE_TYPE))
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
