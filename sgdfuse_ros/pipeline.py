"""``FusionPipeline``: the one object the node, the CLI, the bag tools and the benchmarks call.

    pair -> prepare (normalise, IR onto the VIS grid) -> masks (optional) -> initial fusion
         -> refiner (optional) -> colour from the VIS chroma -> RGB uint8

Every stage is timed (milliseconds, in ``FusionResult.timings``). With a ``frame`` runner (a learned
pipeline on a backend other than ``cpu``), the stages after the masks run as one frame graph
(``sgdfuse_ros.frame``) on raw frames, timed as ``frame``; frames it does not take (float images, a
true-colour thermal image) go the per-stage way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import ConfigError, InputError, ModelError
from .geometry import check_homography
from .images import (
    DEFAULT_MAX_MEGAPIXELS,
    PreparedPair,
    ThermalRange,
    check_pixels,
    gray_view,
    prepare_pair,
    read_image,
    ycbcr_to_rgb_u8,
)
from .methods import FuseFn, build_method
from .timing import timed

if TYPE_CHECKING:
    from .frame.graph import FrameSpec
    from .frame.runner import FrameRunner


class MaskSource(Protocol):
    """Semantic prior: ``{"ir": HxW, "vis": HxW}`` float32 masks in [0, 1] for a prepared pair."""

    def __call__(self, pair: PreparedPair) -> dict[str, np.ndarray]: ...


class Refiner(Protocol):
    """Stage 2: refines the initial fused luma with the masks; returns luma float32 HxW in [0, 1]."""

    def __call__(self, pair: PreparedPair, initial: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray: ...


MaskFilter = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
LumaFilter = Callable[[PreparedPair, np.ndarray], np.ndarray]  # (pair, fused luma) -> fused luma


class OutputFilter(Protocol):
    """The fused-luma filter of a stream (``stream.temporal.OutputSmoother``): run by the pipeline on the
    per-stage path, inside the frame graph (same parameters, the graph's own state) on the other."""

    smoothing: float  # 0: off
    noise: float

    def __call__(self, pair: PreparedPair, luma: np.ndarray) -> np.ndarray: ...

    def continues(self, holder: object) -> bool:
        """Whether the state ``holder`` (a frame graph's runtime) kept continues the stream; it holds it now."""
        ...


class ThermalAGC(Protocol):
    """The 16-bit thermal AGC of a stream (``stream.temporal.ThermalAGC``); a frame graph runs the same step."""

    smoothing: float
    scene_change: float
    state: tuple[float, float] | None


class StreamState(Protocol):
    """What a video stream carries from frame to frame (``stream.temporal.StreamTemporal``)."""

    agc: ThermalAGC
    masks: MaskFilter
    output: OutputFilter

    def thermal_range(self, gray: np.ndarray) -> tuple[float, float]:
        """This 16-bit frame's (low, high) normalisation range (may restart the mask and output filters)."""
        ...

    def graph_agc(self, low: float, high: float, restarted: bool) -> None:
        """The AGC step a frame graph took on this frame: the stream takes its state over."""
        ...


@dataclass
class FusionResult:
    fused: np.ndarray  # RGB uint8 HxWx3 on the visible grid
    luma: np.ndarray | None  # float32 HxW fused luma in [0, 1], before colour and rounding (None: frame graph)
    initial: np.ndarray | None = None  # RGB uint8 stage-1 image, when a refiner ran after it
    initial_luma: np.ndarray | None = None  # its float32 luma, as ``luma`` is the fused image's
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # "ir", "vis": float32 HxW in [0, 1]
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    pair: PreparedPair | None = None  # the prepared pair, where one was made (not by a frame graph alone)


class FusionPipeline:
    """Fuse an IR/VIS pair with a pluggable initial-fusion method, optional masks and refiner."""

    def __init__(
        self,
        method: str | FuseFn = "gff",
        *,
        masks: MaskSource | None = None,
        refiner: Refiner | None = None,
        thermal_percentiles: tuple[float, float] = (1.0, 99.0),
        homography: np.ndarray | None = None,
        max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
        frame: FrameRunner | None = None,
        **method_options: object,
    ) -> None:
        self.method_name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
        self.fuse_fn = build_method(method, **method_options) if isinstance(method, str) else method
        self.masks = masks
        self.refiner = refiner
        self.thermal_percentiles = thermal_percentiles
        self.homography = None if homography is None else check_homography(homography)
        self.frame = frame  # the frame graph's runner (None: the per-stage path only)
        self._homography_ok: set[tuple[int, int, int, int]] = set()  # (IR w, h, VIS w, h) checked
        self.max_megapixels = max_megapixels  # larger inputs are refused before any work (0: no limit)

    def check_size(self, width: int, height: int, name: str = "image") -> None:
        """Raise InputError for an image larger than ``max_megapixels`` (before it is decoded or fused)."""
        check_pixels(width, height, self.max_megapixels, name)

    @property
    def name(self) -> str:
        return self.method_name + ("+refiner" if self.refiner is not None else "")

    def prepare(self, ir: np.ndarray, vis: np.ndarray, vis_order: str = "rgb",
                thermal_range: ThermalRange | None = None) -> PreparedPair:
        self._check_inputs(ir, vis)
        return self._prepare_checked(ir, vis, vis_order, thermal_range)

    def _prepare_checked(self, ir: np.ndarray, vis: np.ndarray, vis_order: str,
                         thermal_range: ThermalRange | None = None) -> PreparedPair:
        return prepare_pair(ir, vis, vis_order, self.thermal_percentiles, self.homography, thermal_range)

    def _check_inputs(self, ir: np.ndarray, vis: np.ndarray) -> None:
        """Sizes against ``max_megapixels`` and the homography's placement, before any work (InputError)."""
        for img, name in ((ir, "infrared image"), (vis, "visible image")):
            if isinstance(img, np.ndarray) and img.ndim >= 2:
                self.check_size(img.shape[1], img.shape[0], name)
        if self.homography is not None:
            self._check_geometry(ir.shape[1], ir.shape[0], vis.shape[1], vis.shape[0])

    def _check_geometry(self, ir_w: int, ir_h: int, vis_w: int, vis_h: int) -> None:
        """Where the homography puts the thermal image, checked once per pair of sizes (InputError)."""
        sizes = (ir_w, ir_h, vis_w, vis_h)
        if sizes in self._homography_ok:
            return
        try:
            check_homography(self.homography, (ir_w, ir_h), (vis_w, vis_h))
        except ConfigError as err:
            raise InputError(str(err)) from None
        self._homography_ok.add(sizes)

    def __call__(self, ir: np.ndarray, vis: np.ndarray, vis_order: str = "rgb",
                 stream: StreamState | None = None) -> FusionResult:
        """Fuse raw arrays (IR: gray/replicated RGB, 8/16-bit or float; VIS: gray/RGB/BGR); ``stream``: the
        state of the video they belong to (thermal range, mask and output filters), on either path."""
        timings: dict[str, float] = {}
        self._check_inputs(ir, vis)  # once, before either path does any work
        gray = None if self.frame is None else gray_view(ir)  # once per frame: the graph and the masks' pair take it
        spec = None if gray is None else self._frame_spec(gray, vis, vis_order, stream)
        if spec is None or gray is None:
            with timed(timings, "preprocess"):
                pair = self._prepare_checked(ir, vis, vis_order, None if stream is None else stream.thermal_range)
            return self.fuse_prepared(pair, timings, None if stream is None else stream.masks,
                                      None if stream is None else stream.output)
        return self._fuse_frame(spec, gray, vis, vis_order, stream, timings)

    def _frame_spec(self, gray: np.ndarray, vis: np.ndarray, vis_order: str,
                    stream: StreamState | None) -> FrameSpec | None:
        """The frame graph's layout for these frames and this stream (None: the graph does not take them). A
        16-bit stream's AGC runs on the host where the host reads the thermal pixels anyway (the masks' pair)
        and its range enters the graph; without masks it runs in the graph. The output filter is in the graph."""
        assert self.frame is not None
        agc = stream is not None and gray.dtype == np.uint16
        output = stream.output if stream is not None and stream.output.smoothing > 0 else None
        return self.frame.spec(gray, vis, vis_order, masks=self.masks is not None,
                               thermal_range=agc and self.masks is not None,
                               output_filter=None if output is None else (output.smoothing, output.noise),
                               agc=(stream.agc.smoothing, stream.agc.scene_change)
                               if stream is not None and agc and self.masks is None else None)

    def _fuse_frame(self, spec: FrameSpec, gray: np.ndarray, vis: np.ndarray, vis_order: str,
                    stream: StreamState | None, timings: dict[str, float]) -> FusionResult:
        """The frame graph's path: the host AGC and the masks (where the spec needs them), then the graph."""
        assert self.frame is not None
        thermal_range = None
        if spec.thermal_range:  # the stream's AGC: it may restart the mask and output filters
            assert stream is not None
            with timed(timings, "preprocess"):
                thermal_range = stream.thermal_range(gray)
        pair, masks = None, {}
        if self.masks is not None:  # the masks run outside the graph, on the prepared pair
            with timed(timings, "preprocess"):
                pair = self._prepare_checked(gray, vis, vis_order, None if thermal_range is None else
                                             lambda _: thermal_range)
            with timed(timings, "masks"):
                masks = self.masks(pair)
                if stream is not None:
                    masks = stream.masks(masks)
        continues = spec.output_filter is not None and stream is not None and \
            stream.output.continues(self.frame.runtime(spec))
        with timed(timings, "frame"):
            outputs = self.frame(spec, gray, vis, masks, thermal_range, continues,
                                 None if stream is None else stream.agc.state)
        if spec.agc is not None and stream is not None:
            low, high, restarted = (float(v) for v in outputs["agc_state_next"])
            stream.graph_agc(low, high, restarted > 0.5)
        return FusionResult(fused=outputs["fused"], luma=None, masks=masks, timings=timings, pair=pair)

    def fuse_prepared(self, pair: PreparedPair, timings: dict[str, float] | None = None,
                      mask_filter: MaskFilter | None = None, luma_filter: LumaFilter | None = None) -> FusionResult:
        """Fuse a prepared pair; ``mask_filter`` and ``luma_filter`` post-process the masks and the fused luma
        (e.g. smooth them over the frames of a video)."""
        timings = {} if timings is None else timings
        masks: dict[str, np.ndarray] = {}
        if self.masks is not None:
            with timed(timings, "masks"):
                masks = self.masks(pair)
                if mask_filter is not None:
                    masks = mask_filter(masks)
        with timed(timings, "initial"):
            fused = _finite(self.fuse_fn(pair.ir, pair.vis), self.method_name)
        initial_luma = initial_rgb = None
        if self.refiner is not None:
            initial_luma = fused
            with timed(timings, "postprocess"):
                initial_rgb = ycbcr_to_rgb_u8(fused, pair.vis_cbcr)
            with timed(timings, "refiner"):
                fused = _finite(self.refiner(pair, fused, masks), "the refiner")
        if luma_filter is not None:
            with timed(timings, "temporal"):
                fused = luma_filter(pair, fused)
        with timed(timings, "postprocess"):
            rgb = ycbcr_to_rgb_u8(fused, pair.vis_cbcr)
        return FusionResult(fused=rgb, luma=fused, initial=initial_rgb, initial_luma=initial_luma, masks=masks,
                            timings=timings, pair=pair)

    def fuse_files(self, ir_path: str | Path, vis_path: str | Path) -> FusionResult:
        return self(read_image(ir_path, self.max_megapixels), read_image(vis_path, self.max_megapixels))


def _finite(luma: np.ndarray, stage: str) -> np.ndarray:
    """A stage's output clipped to [0, 1] as float32; NaN or inf (broken weights, overflow) is an error."""
    if not np.isfinite(luma).all():
        raise ModelError(f"{stage} produced NaN or inf values (corrupt weights?)")
    return np.clip(luma, 0.0, 1.0).astype(np.float32)
