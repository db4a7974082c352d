"""The frame graph: the whole per-frame pipeline as one module, run by every runtime backend but ``cpu``.

``FrameGraph`` (graph.py) is built from a ``FusionPipeline``'s own modules; ``FrameRunner`` (runner.py)
keeps one runtime per frame layout and is what ``FusionPipeline`` calls when its backend is not ``cpu``.
"""
