"""rosbag2 tools without ROS (the ``rosbags`` library): make a thermal + RGB bag, fuse a bag offline.

Replaying a bag over DDS (``sgdfuse bag play``) needs rclpy and lives in ``sgdfuse_ros.ros.bag_play``.
"""
