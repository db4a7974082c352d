"""Image pairs for calibration (``sgdfuse calibrate``) from a bag, two videos, ``ir/`` + ``vi/`` folders or a clip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError


def _spread(total: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(total)`` (all of them when fewer)."""
    if total <= count:
        return list(range(total))
    return sorted({round(k) for k in np.linspace(0, total - 1, count)})


def _video_frames(path: Path, indices: list[int]) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames, wanted, k = [], set(indices), 0
    try:
        while len(frames) < len(wanted):
            ok, frame = cap.read()
            if not ok:
                break
            if k in wanted:
                frames.append(frame[:, :, ::-1].copy() if frame.ndim == 3 else frame)
            k += 1
    finally:
        cap.release()
    return frames


def _video_length(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    if not path.is_file() or not cap.isOpened():
        raise InputError(f"{path}: not a readable video")
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return n


def videos_pairs(ir: Path, vis: Path, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` frame pairs (frame k of each video) spread over two synchronised videos."""
    n = min(_video_length(ir), _video_length(vis))
    idx = _spread(n, count)
    return list(zip(_video_frames(ir, idx), _video_frames(vis, idx), strict=False))


def video_pairs(clip: str, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs of a clip of shared/data/video/m3svd."""
    from ..datasets import shared_root

    root = shared_root()
    if root is None:
        raise InputError(f"clip {clip}: needs the shared data (set SGDFUSE_SHARED to the folder holding data/)")
    video = root / "data" / "video" / "m3svd"
    return videos_pairs(video / "ir" / f"{clip}.mp4", video / "vi" / f"{clip}.mp4", count)


def bag_pairs(path: Path, count: int, thermal_topic: str = "/thermal/image", rgb_topic: str = "/rgb/image",
              slop_s: float = 0.02) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` pairs spread over a bag: each chosen RGB message with the thermal one nearest in stamp."""
    from ..stream.encodings import to_pipeline_input
    from .io import cdr_stamp_ns, open_reader, typestore

    store = typestore()
    with open_reader(path) as reader:
        conns = {c.topic: c for c in reader.connections}
        missing = [t for t in (thermal_topic, rgb_topic) if t not in conns]
        if missing:
            raise InputError(f"{path}: no topic {', '.join(missing)} (has {', '.join(sorted(conns))})")
        topics = [conns[thermal_topic], conns[rgb_topic]]
        stamps: dict[str, list[int]] = {thermal_topic: [], rgb_topic: []}
        first: dict[tuple[str, int], int] = {}  # (topic, header stamp) -> its first message's position
        for k, (conn, _, raw) in enumerate(reader.messages(connections=topics)):
            stamp = cdr_stamp_ns(raw)
            stamps[conn.topic].append(stamp)
            first.setdefault((conn.topic, stamp), k)
        th = np.array(stamps[thermal_topic])
        wanted_rgb = {stamps[rgb_topic][k] for k in _spread(len(stamps[rgb_topic]), count)}
        partner = {}
        for s in wanted_rgb:
            if th.size and abs(int(th[np.abs(th - s).argmin()]) - s) <= slop_s * 1e9:
                partner[s] = int(th[np.abs(th - s).argmin()])
        wanted = {first[(rgb_topic, s)]: (rgb_topic, s) for s in partner}
        wanted.update({first[(thermal_topic, t)]: (thermal_topic, t) for t in partner.values()})
        images: dict[tuple[str, int], np.ndarray] = {}
        for k, (conn, _, raw) in enumerate(reader.messages(connections=topics)):  # decode the chosen ones only
            if k in wanted:
                img, order = to_pipeline_input(store.deserialize_cdr(raw, conn.msgtype))
                images[wanted[k]] = img[..., ::-1].copy() if img.ndim == 3 and order == "bgr" else img
    pairs = [(images[(thermal_topic, t)], images[(rgb_topic, s)]) for s, t in sorted(partner.items())]
    if not pairs:
        raise InputError(f"{path}: no thermal/RGB message pairs within {slop_s} s")
    return pairs


def folder_pairs(folder: Path, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from ..datasets import find_pairs
    from ..images import read_image

    pairs, _ = find_pairs(folder)
    return [(read_image(pairs[k].ir), read_image(pairs[k].vis)) for k in _spread(len(pairs), count)]


def load_pairs(sources: list[str], count: int, thermal_topic: str = "/thermal/image",
               rgb_topic: str = "/rgb/image") -> list[tuple[np.ndarray, np.ndarray]]:
    """SOURCE as the CLI takes it: a bag folder, a folder with ir/ + vi/, two videos, or ``clip:NAME``."""
    if len(sources) == 2:
        return videos_pairs(Path(sources[0]), Path(sources[1]), count)
    if len(sources) != 1:
        raise InputError("give one SOURCE (a bag, a folder with ir/ + vi/, clip:NAME) or two videos (IR VIS)")
    source = sources[0]
    if source.startswith("clip:"):
        return video_pairs(source.split(":", 1)[1], count)
    path = Path(source)
    if (path / "metadata.yaml").is_file():
        return bag_pairs(path, count, thermal_topic, rgb_topic)
    if path.is_dir():
        return folder_pairs(path, count)
    raise InputError(f"{source}: not a bag folder, an ir/ + vi/ folder, a clip:NAME, or one of two videos")
