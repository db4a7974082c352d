"""Detection-driven evaluation of fusion: does a detector find more objects in the fused image?

- ``boxes``: the ``Boxes`` container, IoU and non-maximum suppression.
- ``labels``: YOLO txt label files (``class cx cy w h``, normalised; 0 person, 1 bicycle, 2 car).
- ``ap``: AP50 (VOC all-point interpolation, greedy matching by score) and bootstrap intervals over images.
- ``hog``: OpenCV's pretrained HOG pedestrian detector, upscaled for small (20-40 px) people.
- ``tiny_detector`` + ``train``: a small CenterNet-style detector trained from scratch per input (k-fold).
- ``task_eval``: the driver behind ``sgdfuse eval --task det``.

No ROS imports; torch is imported only by ``tiny_detector``/``train``.
"""

CLASSES = ("person", "bicycle", "car")
