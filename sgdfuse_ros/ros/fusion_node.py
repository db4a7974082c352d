"""``fusion_node``: a lifecycle node fusing synchronised thermal + RGB images into ``fused_image``.

Lifecycle:
- configure: read and validate the parameters, build the pipeline (loads models), create the publishers;
  a bad parameter or model makes it return FAILURE with the reason logged.
- activate: subscribe ``thermal/image`` and ``rgb/image``, start the worker thread and the diagnostics timer.
- deactivate: unsubscribe, stop the worker (an unprocessed pair is counted as discarded), last diagnostics.
- cleanup / shutdown: release publishers and the pipeline.

Data flow: subscription callbacks (executor thread) check each message (that it deserialises, its fields, its
size against ``input.max_megapixels``; bad ones are counted per kind and logged once per kind) and feed the
synchroniser (``sync.implementation``: ROS message_filters when importable, else the core's; both report the
same counters); a synchronised pair goes to a one-slot mailbox (newest wins: a pair displaced unprocessed is
counted as dropped by back-pressure); one worker thread runs the pipeline and publishes with the RGB frame's
header. Pixels are converted by cv_bridge when importable, else by the core encodings (``use_cv_bridge``).
``/diagnostics`` reports the counters about once a second. With ``autostart`` (default) ``main`` configures
and activates the node itself.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Image

from ..config import PipelineConfig, build_pipeline
from ..errors import SGDFuseError
from ..pipeline import FusionPipeline
from ..stream.encodings import UNDECODABLE, BadMessage
from ..stream.fusion import OVERSIZED, accept_message, fuse_messages, release_memory
from ..stream.mailbox import Worker
from ..stream.node_params import NodeParams
from ..stream.stats import StreamStats
from ..stream.sync import Synchronizer, make_synchronizer
from ..stream.temporal import StreamTemporal
from .conversions import CoreImages, ImageConverter, image_converter, stamp_ns
from .diagnostics import to_diagnostic_array
from .optional import optional_module, use_optional
from .params import declare_node_parameters, read_node_parameters
from .qos import image_qos
from .sync_message_filters import MessageFiltersSync

THERMAL, RGB = 0, 1
Pair = tuple[Image, Image]


class FusionNode(LifecycleNode):
    def __init__(self, node_name: str = "sgdfuse", *,
                 pipeline_factory: Callable[[PipelineConfig], FusionPipeline] = build_pipeline,
                 **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        declare_node_parameters(self)
        self.declare_parameter("autostart", True)
        self._pipeline_factory = pipeline_factory
        self.params: NodeParams | None = None
        self.pipeline_config: PipelineConfig | None = None
        self.pipeline: FusionPipeline | None = None
        self._pubs: dict[str, Any] = {}  # output name -> lifecycle publisher
        self._diag_pub: Any = None
        self._subs: list[Any] = []
        self._timer: Any = None
        self.sync: Synchronizer | MessageFiltersSync | None = None
        self.message_filters: Any = None  # the module, when it pairs (sync.implementation)
        self.images: ImageConverter = CoreImages()
        self.worker: Worker[Pair] | None = None
        self.stats: StreamStats | None = None
        self._release_memory = False  # an oversized message was refused: return its memory to the OS
        self.temporal: StreamTemporal | None = None  # thermal AGC, mask smoothing, alignment score

    # -- lifecycle --
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        log = self.get_logger()
        try:
            params, config = read_node_parameters(self)
            want_mf = {"auto": None, "message_filters": True, "core": False}[params.sync.implementation]
            mf = optional_module("message_filters") if want_mf is not False else None
            use_mf = use_optional("sync.implementation", want_mf, mf, "message_filters")
            images = image_converter(params.use_cv_bridge)
            pipeline = self._pipeline_factory(config)
            self.params, self.pipeline_config, self.pipeline = params, config, pipeline
            self.message_filters, self.images = (mf if use_mf else None), images
            out_qos = image_qos(params.qos.output_reliability, params.qos.output_depth)
            wanted = {"fused": params.publish.fused, "mask_ir": params.publish.masks,
                      "mask_vis": params.publish.masks, "initial": params.publish.initial}
            for name, on in wanted.items():
                if on:
                    self._pubs[name] = self.create_lifecycle_publisher(Image, getattr(params.topics, name), out_qos)
            self._diag_pub = self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)
        except SGDFuseError as err:
            log.error(f"configure failed: {err}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        except Exception:  # e.g. a model that cannot load: fail the transition, leave the node unconfigured
            log.error(f"configure failed:\n{traceback.format_exc()}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        sync = params.sync
        log.info(f"configured: pipeline {pipeline.name} ({config.runtime.backend}), sync {sync.policy} by "
                 f"{self.sync_implementation} (slop {sync.slop} s, queue {sync.queue_size}), images by "
                 f"{self.images.name}, outputs {', '.join(self._pubs)}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        p = self.params
        assert p is not None
        self.stats = StreamStats([p.topics.thermal, p.topics.rgb], time.monotonic())
        pipeline = self.pipeline
        assert pipeline is not None
        self.temporal = StreamTemporal(p.temporal, pipeline.thermal_percentiles, pipeline.homography)
        self.worker = Worker(self._process, self._on_worker_error, name=f"{self.get_name()}-fusion")
        self.worker.start()
        in_qos = image_qos(p.qos.input_reliability, p.qos.input_depth)
        mf = self.message_filters
        if mf is not None:  # message_filters subscribes; its synchroniser pairs, the adapter counts
            sources = [mf.Subscriber(self, Image, topic, qos_profile=in_qos) for topic in (p.topics.thermal,
                                                                                           p.topics.rgb)]
            self.sync = MessageFiltersSync(mf, sources, p.sync, self._on_pair, accept=self._accept,
                                           stamp_ns=lambda m: stamp_ns(m.header.stamp))
            self._subs = [source.sub for source in sources]
        else:
            self.sync = make_synchronizer(p.sync, self._on_pair, on_reset=self._on_clock_reset)
            self._subs = [
                self.create_subscription(Image, topic, lambda data, i=i: self._on_raw(i, data), in_qos, raw=True)
                for i, topic in ((THERMAL, p.topics.thermal), (RGB, p.topics.rgb))
            ]
        # resolved names for the report (``topic_name`` is missing in older rclpy: then the parameter's)
        self.stats.topics = [getattr(sub, "topic_name", name) for sub, name in
                             zip(self._subs, (p.topics.thermal, p.topics.rgb), strict=True)]
        self._timer = self.create_timer(p.diagnostics_period, self.publish_diagnostics)
        outputs = ", ".join(getattr(pub, "topic_name", name) for name, pub in self._pubs.items())
        self.get_logger().info(f"active: {' + '.join(self.stats.topics)} -> {outputs}")
        return super().on_activate(state)  # enables the lifecycle publishers

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_streaming()
        self.publish_diagnostics()  # the final counts, while the publisher is still enabled
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_streaming()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_streaming()
        self._release()
        return TransitionCallbackReturn.SUCCESS  # back to unconfigured

    def destroy_node(self) -> None:
        self._stop_streaming()
        super().destroy_node()

    def _stop_streaming(self) -> None:
        for sub in self._subs:
            self.destroy_subscription(sub)
        self._subs = []
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        if self.worker is not None:
            if self.worker.stop() is not None and self.stats is not None:
                self.stats.on_discarded()
            self.worker = None

    def _release(self) -> None:
        for pub in [*self._pubs.values(), self._diag_pub]:
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        self._pubs, self._diag_pub = {}, None
        self.pipeline = None
        self.params = self.pipeline_config = None
        self.message_filters, self.images = None, CoreImages()

    @property
    def sync_implementation(self) -> str:
        return "message_filters" if self.message_filters is not None else "core"

    @property
    def output_publishers(self) -> dict[str, Any]:
        """Output name (fused, mask_ir, ...) -> its lifecycle publisher, while configured."""
        return dict(self._pubs)

    # -- data path --
    def _accept(self, index: int, msg: Image | BadMessage) -> bool:
        """Count a received message and check its fields; a bad one is counted by kind, logged once."""
        stats, pipeline = self.stats, self.pipeline
        if stats is None or pipeline is None:
            return False
        stats.on_received(index, time.monotonic())
        try:
            if isinstance(msg, BadMessage):  # it could not be deserialised
                raise msg
            accept_message(msg, pipeline)
        except BadMessage as err:
            if err.kind == OVERSIZED:
                self._release_memory = True  # once the message is gone (next diagnostics)
            if stats.on_bad(index, err.kind):
                self.get_logger().warning(f"bad message on {stats.topics[index]} ({err.kind}): {err}; "
                                          f"further '{err.kind}' messages are only counted on /diagnostics")
            return False
        return True

    def _on_raw(self, index: int, data: bytes) -> None:
        """Core pairing subscribes to serialized messages, so that one which cannot be deserialised is counted
        (``undecodable``) instead of being dropped silently inside rclpy."""
        try:
            msg: Image | BadMessage = deserialize_message(data, Image)
        except Exception as err:  # rclpy raises RMWError for malformed CDR
            msg = BadMessage(UNDECODABLE, f"cannot deserialise sensor_msgs/Image: {err}")
        self._on_image(index, msg)

    def _on_image(self, index: int, msg: Image | BadMessage) -> None:
        sync = self.sync
        if isinstance(sync, Synchronizer) and self._accept(index, msg):
            sync.add(index, stamp_ns(msg.header.stamp), msg)

    def _on_pair(self, thermal: Image, rgb: Image) -> None:
        stats, worker = self.stats, self.worker
        if stats is None:
            return
        stats.on_synced()
        if worker is None or not worker.running:  # a callback that raced with deactivate
            stats.on_discarded()
        elif worker.submit((thermal, rgb)) is not None:
            stats.on_backpressure_drop()

    def _on_clock_reset(self, index: int, jump_ns: int) -> None:
        topic = self.stats.topics[index] if self.stats else str(index)
        self.get_logger().warning(f"stamps on {topic} jumped back by {jump_ns / 1e9:.3f} s (clock reset or "
                                  "bag loop): synchronisation queues cleared")

    def _process(self, pair: Pair) -> None:
        thermal, rgb = pair
        p, stats, pipeline = self.params, self.stats, self.pipeline
        if p is None or stats is None or pipeline is None:
            return
        images = self.images
        try:
            frame = fuse_messages(pipeline, thermal, rgb, encoding=p.publish.encoding,
                                  require_same_size=p.require_same_size, fused=p.publish.fused,
                                  masks=p.publish.masks, initial=p.publish.initial, decode=images.to_array,
                                  encode_image=lambda img, encoding: images.to_msg(img, encoding, rgb.header),
                                  temporal=self.temporal)
        except BadMessage as err:
            if stats.on_rejected(err.kind):
                self.get_logger().warning(f"pair rejected ({err.kind}): {err}; further ones are only counted")
            return
        published = []
        for name, msg in frame.images.items():
            pub = self._pubs.get(name)
            if pub is not None:
                pub.publish(msg)
                published.append(name)
        latency_ms = (self.get_clock().now().nanoseconds - stamp_ns(rgb.header.stamp)) / 1e6
        stats.on_fused(latency_ms, published, time.monotonic())

    def _on_worker_error(self, pair: Pair, exc: BaseException) -> None:
        if self.stats is not None and self.stats.on_failed(type(exc).__name__):
            self.get_logger().error("fusion failed (further failures of this kind are only counted): "
                                    + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))

    # -- diagnostics --
    def _info(self) -> dict[str, str]:
        pipeline, config = self.pipeline, self.pipeline_config
        if pipeline is None or config is None or self.params is None:
            return {}
        # the runtime actually in use, when the pipeline or its method reports one, else the configured one
        backend = getattr(pipeline, "backend", None) or getattr(pipeline.fuse_fn, "backend", None)
        info = {"pipeline": pipeline.name, "pipeline.backend": str(backend or config.runtime.backend),
                "sync.policy": self.params.sync.policy, "sync.implementation": self.sync_implementation,
                "images.conversion": self.images.name}
        masks = pipeline.masks
        if masks is not None:
            info["masks.provider"] = str(getattr(masks, "last_provider", "unknown"))
            age = getattr(masks, "last_age_s", None)
            info["masks.age_s"] = "n/a" if age is None else f"{age:.3f}"
        return info

    def publish_diagnostics(self) -> None:
        if self._release_memory:
            self._release_memory = False
            release_memory()
        stats, sync, worker, pub, p = self.stats, self.sync, self.worker, self._diag_pub, self.params
        if stats is None or sync is None or pub is None or p is None:
            return
        sync_stats, pending = sync.snapshot()
        in_flight = 0 if worker is None else worker.in_flight
        info, warnings = self._info(), []
        if self.temporal is not None:
            values, warning = self.temporal.alignment.values()
            info.update(values)
            warnings = [warning] if warning else []
        report = stats.report(time.monotonic(), sync_stats, pending, stale_timeout=p.sync.stale_timeout,
                              in_flight=in_flight, info=info, warnings=warnings)
        backend, stamp = report.values.get("pipeline.backend", ""), self.get_clock().now().to_msg()
        pub.publish(to_diagnostic_array(report, self.diagnostics_name, backend, stamp))

    @property
    def diagnostics_name(self) -> str:
        return f"{self.get_namespace().rstrip('/')}/{self.get_name()}: thermal/RGB fusion"


def start(node: FusionNode) -> bool:
    """Configure and activate; False (reason logged) when configuring fails."""
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        return False
    return node.trigger_activate() == TransitionCallbackReturn.SUCCESS


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    node = FusionNode()
    code = 0
    try:
        if node.get_parameter("autostart").value and not start(node):
            code = 1
        else:
            rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # rclpy raises ExternalShutdownException (Humble+) on a shutdown from outside
        if type(exc).__name__ != "ExternalShutdownException":
            raise
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
