"""Model export: ONNX graphs (``onnx.py``) and TensorRT engines built from them (``engines.py``)."""
