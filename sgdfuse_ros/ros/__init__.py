"""The ROS 2 layer: the only modules importing rclpy and message packages (the rest is ROS-free).

Works with the rclpy of Humble, Jazzy and Kilted: only APIs present since Humble are used
(``rclpy.lifecycle``, ``declare_parameter`` with a ``dynamic_typing`` descriptor, ``QoSProfile`` policies).
"""
