"""``FrameRunner``: a pipeline's frame graphs on a runtime backend, one graph (and runtime) per frame layout.

The host work per frame is what the graph cannot take: a gray view of a replicated-RGB thermal frame
(``images.gray_view``, taken once per frame by the pipeline), and the masks (the offline provider and SAM
run outside the graph, on the prepared pair). Frames the graph does not take (float images, a true-colour
thermal image) return None: the pipeline's per-stage path fuses them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from ..runtime import create_runtime
from ..runtime.base import Runtime
from .graph import FrameGraph, FrameSpec, RefinerParts

if TYPE_CHECKING:
    from ..refiner import DiffusionRefiner

log = logging.getLogger(__name__)


def refiner_parts(refiner: DiffusionRefiner, shape: tuple[int, int]) -> RefinerParts:
    from ..diffusion.condition import initial_noise

    return RefinerParts(refiner.graph(), initial_noise((1, 1, *shape), refiner.noise), refiner.stretch,
                        refiner.source_bound_radius)


def frame_graph(spec: FrameSpec, initial: nn.Module, refiner: DiffusionRefiner | None,
                thermal_percentiles: tuple[float, float] = (1.0, 99.0),
                homography: np.ndarray | None = None) -> FrameGraph:
    """The frame graph of ``spec`` on these modules (shared, not copied: it follows the pipeline's models)."""
    parts = refiner_parts(refiner, spec.vis_shape) if refiner is not None else None
    return FrameGraph(spec, initial, parts, thermal_percentiles=thermal_percentiles,
                      homography=homography).eval()


class FrameRunner:
    """Fuses raw frames with one frame graph per layout on ``backend`` (built at the first frame of each)."""

    def __init__(self, name: str, initial: nn.Module, refiner: DiffusionRefiner | None, backend: str, *,
                 thermal_percentiles: tuple[float, float] = (1.0, 99.0), homography: np.ndarray | None = None,
                 engines_dir: str | Path | None = None) -> None:
        self.name, self.initial, self.refiner, self.backend = name, initial, refiner, backend
        self.thermal_percentiles, self.homography, self.engines_dir = thermal_percentiles, homography, engines_dir
        self.runtimes: dict[FrameSpec, Runtime] = {}

    def graph(self, spec: FrameSpec) -> FrameGraph:
        return frame_graph(spec, self.initial, self.refiner, self.thermal_percentiles, self.homography)

    def runtime(self, spec: FrameSpec) -> Runtime:
        if spec not in self.runtimes:
            log.info("frame graph %s: building for %s on %s", self.name, spec.name, self.backend)
            self.runtimes[spec] = create_runtime(self.graph(spec), spec.io(), name=f"{self.name}_{spec.name}",
                                                 backend=self.backend, engines_dir=self.engines_dir)
        return self.runtimes[spec]

    def spec(self, gray: np.ndarray, vis: np.ndarray, vis_order: str, masks: bool, thermal_range: bool = False,
             output_filter: tuple[float, float] | None = None,
             agc: tuple[float, float] | None = None) -> FrameSpec | None:
        """The layout of a thermal frame's ``images.gray_view`` and a visible frame; None if the graph does not
        take them."""
        return FrameSpec.of(gray, vis, vis_order, masks=masks, thermal_range=thermal_range,
                            output_filter=output_filter, agc=agc)

    def __call__(self, spec: FrameSpec, gray: np.ndarray, vis: np.ndarray, masks: dict[str, np.ndarray] | None,
                 thermal_range: tuple[float, float] | None = None, continues: bool = False,
                 agc_state: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
        """The graph's outputs for frames that ``spec`` describes (``gray``: the thermal frame's
        ``images.gray_view``): ``fused``, the uint8 HxWx3 frame (``spec.out_order``), and with an AGC in the
        graph ``agc_state_next`` (low, high, restarted) from ``agc_state`` (None: none yet). With an output
        filter, ``continues`` says whether the state its runtime kept from the last call continues the stream."""
        if spec.ir_bits == 16:  # its bytes, little-endian: a view where the frame is contiguous
            gray = np.ascontiguousarray(gray, "<u2").view(np.uint8).reshape(*gray.shape, 2)
        inputs = {"ir": gray,
                  "vis": vis if spec.vis_channels > 1 or vis.ndim == 2 else vis[..., 0]}
        if spec.thermal_range:
            inputs["thermal_range"] = np.asarray(thermal_range, np.float32)
        if spec.masks:
            zeros = np.zeros(spec.vis_shape, np.float32)
            inputs["mask_ir"] = masks.get("ir", zeros) if masks else zeros
            inputs["mask_vis"] = masks.get("vis", zeros) if masks else zeros
        if spec.agc is not None:
            inputs["agc_state"] = np.array([0.0, 0.0, 0.0] if agc_state is None else [*agc_state, 1.0], np.float32)
        if spec.output_filter is not None:
            inputs["luma_continues"] = np.array([1.0 if continues else 0.0], np.float32)
        return self.runtime(spec).run(inputs)
