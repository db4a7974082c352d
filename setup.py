"""ament_python package; also installs with plain ``pip install -e .`` for users without ROS."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "sgdfuse_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    package_data={PACKAGE: ["weights/*.pt", "weights/*.json"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/engines", ["engines/README.md"]),
    ],
    python_requires=">=3.10",
    install_requires=["numpy", "opencv-python-headless<5", "scipy", "pyyaml", "tqdm", "matplotlib"],
    extras_require={
        "torch": ["torch"],
        "sam": ["segment-anything", "torchvision"],
        "onnx": ["onnx", "onnxruntime"],
        "bag": ["rosbags"],
        "test": ["pytest", "ruff"],
    },
    zip_safe=True,
    maintainer="sgdfuse_ros maintainers",
    maintainer_email="maintainers@sgdfuse-ros.invalid",
    description="SAM-guided infrared/visible image fusion (SGDFuse) for ROS 2",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "sgdfuse = sgdfuse_ros.cli:main",
            "fusion_node = sgdfuse_ros.ros.fusion_node:main",
        ],
    },
)
