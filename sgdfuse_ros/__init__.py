"""sgdfuse_ros: SAM-guided infrared/visible image fusion for ROS 2.

The core library (everything except ``sgdfuse_ros.ros``) has no ROS imports.
"""

__version__ = "0.1.0"
