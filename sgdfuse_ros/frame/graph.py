"""The frame graph: one module from raw frames to the fused frame, built from a pipeline's own modules.

    ir (uint8 HxW, or uint16 as its two bytes HxWx2) + vis (uint8 HxW[xC], RGB or BGR)
      -> thermal normalisation (/255, or the 16-bit percentiles; or given (low, high) counts)
      -> IR onto the visible grid (resize matrices, or the homography with grid_sample)
      -> luma/chroma -> initial fusion (stage 1) -> the refiner's unrolled sampler (optional; clamped to the raw
         sources' local range when its checkpoint has source_bound_radius)
      -> the output filter over frames (optional) -> colour back -> uint8 HxWx3 (RGB or BGR)

Masks (SAM or the offline provider, computed outside the graph) enter as float32 inputs on the visible
grid. One graph serves one frame size and layout (``FrameSpec``), as a camera's resolution is fixed:
the resize and warp become constant matrices and grids, and engines are pinned to one size anyway.
On the CPU it gives the per-stage pipeline's images (``FusionPipeline.fuse_prepared``) to rounding.

A video stream's temporal state (``stream.temporal``) enters as:

- the thermal AGC (16-bit): inside the graph (``agc``: the previous (low, high, valid) in, the next
  (low, high, restarted) out, two small host copies) where nothing on the host reads the thermal pixels;
  where the host prepares the pair for the masks anyway, its AGC range enters as ``thermal_range``;
- the masks: smoothed with the masks, outside;
- the output filter (``OutputSmoother``) inside the graph: its state (the previous IR, VIS and fused luma,
  (3, H, W)) is a state input looped back from a state output by the runtime (``FixedIO.state``: on the
  device there), with a flag input that says whether it continues the stream (0: the first frame, a scene
  change the host saw; the graph's own AGC restart clears it too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..diffusion.condition import bound_to_sources
from ..runtime.base import FixedIO
from . import ops

THERMAL_BITS = (8, 16)
ORDERS = ("rgb", "bgr")


@dataclass(frozen=True)
class FrameSpec:
    """The layout of the frames one graph takes: sizes, thermal bit depth, visible channels and order."""

    ir_shape: tuple[int, int]  # (H, W) of the thermal frame
    vis_shape: tuple[int, int]  # (H, W) of the visible frame (the output grid)
    vis_channels: int = 3  # 1 (gray), 3 or 4 (the 4th is ignored)
    ir_bits: int = 8  # 16: the uint16 frame enters as its bytes, (H, W, 2) uint8 (little-endian)
    vis_order: str = "rgb"
    out_order: str = "rgb"
    masks: bool = True  # mask_ir / mask_vis inputs (else zero masks)
    thermal_range: bool = False  # a (low, high) input in thermal counts replaces the per-frame percentiles
    output_filter: tuple[float, float] | None = None  # (smoothing, noise) of stream.temporal.OutputSmoother
    agc: tuple[float, float] | None = None  # (smoothing, scene_change) of stream.temporal.ThermalAGC, 16-bit

    @classmethod
    def of(cls, ir: np.ndarray, vis: np.ndarray, vis_order: str = "rgb", *, masks: bool = True,
           thermal_range: bool = False, out_order: str = "rgb",
           output_filter: tuple[float, float] | None = None,
           agc: tuple[float, float] | None = None) -> FrameSpec | None:
        """The spec of a gray uint8/uint16 thermal frame and a uint8 visible frame; None for other inputs."""
        if ir.ndim != 2 or ir.dtype not in (np.uint8, np.uint16) or vis.dtype != np.uint8:
            return None
        if vis_order not in ORDERS or (vis.ndim == 3 and vis.shape[2] not in (1, 3, 4)):
            return None
        channels = 1 if vis.ndim == 2 else vis.shape[2]
        return cls(ir.shape, vis.shape[:2], channels, 8 * ir.dtype.itemsize, vis_order, out_order, masks,
                   thermal_range, output_filter, agc if ir.dtype == np.uint16 else None)

    def io(self) -> FixedIO:
        h, w = self.vis_shape
        ir = ("ir", (*self.ir_shape, 2) if self.ir_bits == 16 else self.ir_shape, "uint8")
        vis = ("vis", (h, w) if self.vis_channels == 1 else (h, w, self.vis_channels), "uint8")
        inputs = [ir, vis]
        if self.thermal_range:
            inputs.append(("thermal_range", (2,), "float32"))
        if self.agc is not None:
            inputs.append(("agc_state", (3,), "float32"))
        if self.masks:
            inputs += [("mask_ir", (h, w), "float32"), ("mask_vis", (h, w), "float32")]
        outputs = [("fused", (h, w, 3), "uint8")]
        if self.agc is not None:
            outputs.append(("agc_state_next", (3,), "float32"))
        state: tuple[tuple[str, str], ...] = ()
        if self.output_filter is not None:
            inputs += [("luma_state", (3, h, w), "float32"), ("luma_continues", (1,), "float32")]
            outputs.append(("luma_state_next", (3, h, w), "float32"))
            state = (("luma_state", "luma_state_next"),)
        return FixedIO(tuple(inputs), tuple(outputs), state)

    @property
    def name(self) -> str:
        """A file-name part that tells graphs of one pipeline apart."""
        (ih, iw), (h, w) = self.ir_shape, self.vis_shape
        flags = ("m" if self.masks else "") + ("r" if self.thermal_range else "")
        if self.output_filter is not None:
            flags += "s{:g}n{:g}".format(*self.output_filter)
        if self.agc is not None:
            flags += "a{:g}c{:g}".format(*self.agc)
        return (f"ir{iw}x{ih}u{self.ir_bits}_vis{w}x{h}c{self.vis_channels}{self.vis_order}"
                f"_{self.out_order}{'_' + flags if flags else ''}")


@dataclass(frozen=True)
class RefinerParts:
    """What the frame graph needs of a ``DiffusionRefiner``: its graph (network + sampler) and settings."""

    graph: nn.Module  # diffusion.graph.RefinerGraph: (initial, ir, vis, mask_ir, mask_vis, noise) -> refined
    noise: torch.Tensor  # x_T for the frame size, (1, 1, H, W)
    stretch: dict[str, float] | None  # contrast normalisation settings (low, high percentiles, knee, base_radius)
    source_bound_radius: int = 0  # > 0: the refined luma clamped to the local range of the raw IR and VIS


class FrameGraph(nn.Module):
    """Raw frames -> fused uint8 frame, for one ``FrameSpec``; see the module doc."""

    def __init__(self, spec: FrameSpec, initial: nn.Module, refiner: RefinerParts | None = None, *,
                 thermal_percentiles: tuple[float, float] = (1.0, 99.0),
                 homography: np.ndarray | None = None) -> None:
        super().__init__()
        self.spec, self.initial, self.thermal_percentiles = spec, initial, thermal_percentiles
        self.extra_inputs = spec.io().input_names[2:]  # the names of ``forward``'s inputs after ir and vis
        self.refiner = refiner.graph if refiner is not None else None
        self.stretch = refiner.stretch if refiner is not None else None
        self.source_bound_radius = refiner.source_bound_radius if refiner is not None else 0
        if refiner is not None:
            self.register_buffer("noise", refiner.noise.reshape(1, 1, *spec.vis_shape).float())
        self.warp = homography is not None
        if homography is not None:
            grid = ops.homography_grid(homography, spec.ir_shape, spec.vis_shape)
            self.register_buffer("grid", torch.from_numpy(grid))
        self.resize = homography is None and spec.ir_shape != spec.vis_shape
        if self.resize:
            rows, cols = ops.resize_matrices(spec.ir_shape, spec.vis_shape)
            self.register_buffer("rows", torch.from_numpy(rows))
            self.register_buffer("cols_t", torch.from_numpy(np.ascontiguousarray(cols.T)))

    def thermal(self, ir: torch.Tensor, named: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Thermal frame -> (1, 1, H, W) float in [0, 1] on the visible grid, and the AGC's next state (or None)."""
        counts = ir[..., 0].float() + 256.0 * ir[..., 1].float() if self.spec.ir_bits == 16 else ir.float()
        agc_next = None
        if "thermal_range" in named:
            unit = ops.normalise_thermal(counts, named["thermal_range"][0], named["thermal_range"][1])
        elif self.spec.agc is not None:
            lo, hi, agc_next = ops.agc_step(counts, named["agc_state"], self.thermal_percentiles, *self.spec.agc)
            unit = ops.normalise_thermal(counts, lo, hi)
        elif self.spec.ir_bits == 16:
            lo, hi = ops.percentiles(counts.reshape(-1), self.thermal_percentiles, 0.0, 65535.0, iters=17)
            unit = ops.normalise_thermal(counts, lo, hi)
        else:
            unit = counts / 255.0
        if self.resize:
            unit = self.rows @ unit @ self.cols_t
        unit = unit[None, None]
        if self.warp:
            unit = ops.warp(unit, self.grid)
        return unit, agc_next

    def visible(self, vis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Visible frame -> luma (1, 1, H, W) and chroma Cb, Cr (None for a gray frame)."""
        unit = vis.float() / 255.0
        if self.spec.vis_channels == 1:
            return unit.reshape(1, 1, *self.spec.vis_shape), None, None
        rgb = unit[..., :3].permute(2, 0, 1)[None]
        if self.spec.vis_order == "bgr":
            rgb = ops.reverse_channels(rgb)
        return ops.rgb_to_ycbcr(rgb)

    def output_filter(self, luma: torch.Tensor, ir_y: torch.Tensor, vis_y: torch.Tensor, state: torch.Tensor,
                      continues: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``stream.temporal.OutputSmoother`` on (1, 1, H, W) lumas: (filtered luma, the next state)."""
        assert self.spec.output_filter is not None
        smoothing, noise = self.spec.output_filter
        prev_ir, prev_vis, prev_out = (state[i:i + 1][None] for i in range(3))
        change = torch.maximum(torch.abs(ir_y - prev_ir), torch.abs(vis_y - prev_vis))
        keep = (smoothing * continues) * torch.exp(-torch.square(change / noise))
        out = luma + keep * (prev_out - luma)
        return out, torch.cat([ir_y.float(), vis_y.float(), out.float()], dim=1)[0]  # fp32 under autocast too

    def forward(self, ir: torch.Tensor, vis: torch.Tensor,
                *rest: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        named = dict(zip(self.extra_inputs, rest, strict=True))
        ir_y, agc_next = self.thermal(ir, named)
        vis_y, cb, cr = self.visible(vis)
        fused = torch.clamp(self.initial(ir_y, vis_y), 0.0, 1.0)
        if self.refiner is not None:
            zeros = torch.zeros_like(vis_y)
            m_ir, m_vis = (named["mask_ir"][None, None], named["mask_vis"][None, None]) if self.spec.masks \
                else (zeros, zeros)
            images = [fused, ir_y, vis_y]
            if self.stretch:
                lo, hi = ops.stretch_range(fused, self.stretch["low"], self.stretch["high"])
                knee, radius = self.stretch["knee"], int(self.stretch.get("base_radius", 0))
                snr = float(self.stretch.get("detail_snr", 0.0))
                mask_radius = int(self.stretch.get("detail_mask_radius", 0))
                mask = ops.target_mask(m_ir, mask_radius) if mask_radius else None
                images = [ops.base_only_stretch(x, lo, hi, knee, radius, snr, mask) if radius
                          else ops.contrast_stretch(x, lo, hi, knee) for x in images]
            fused = torch.clamp(self.refiner(*images, m_ir, m_vis, self.noise), 0.0, 1.0)
            if self.source_bound_radius:  # as DiffusionRefiner: the raw sources' local range
                fused = bound_to_sources(fused, torch.cat([ir_y, vis_y], dim=1), self.source_bound_radius)
        state = None
        if self.spec.output_filter is not None:
            continues = named["luma_continues"] if agc_next is None else named["luma_continues"] * (1.0 - agc_next[2])
            fused, state = self.output_filter(fused, ir_y, vis_y, named["luma_state"], continues)
        rgb = fused.expand(1, 3, *self.spec.vis_shape) if cb is None or cr is None else ops.ycbcr_to_rgb(fused, cb, cr)
        if self.spec.out_order == "bgr":
            rgb = ops.reverse_channels(rgb)
        outputs = [ops.to_u8(rgb[0].permute(1, 2, 0))] + [x for x in (agc_next, state) if x is not None]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)
