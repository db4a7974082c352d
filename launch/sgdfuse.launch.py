"""Launch the sgdfuse fusion node: thermal + RGB images in, ``fused_image`` (and masks) out.

    ros2 launch sgdfuse_ros sgdfuse.launch.py namespace:=front thermal_topic:=/flir/image_raw \
        rgb_topic:=/camera/color/image_raw backend:=tensorrt

The node is a lifecycle node that configures and activates itself (``autostart:=false`` leaves that to a
lifecycle manager). Parameters come from ``config`` (default: the package's config/sgdfuse.yaml); the
``backend`` argument overrides ``pipeline.runtime.backend``. The two inputs are remapped from the node's relative
names ``thermal/image`` and ``rgb/image``.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    default_config = PathJoinSubstitution([FindPackageShare("sgdfuse_ros"), "config", "sgdfuse.yaml"])
    args = [
        DeclareLaunchArgument("config", default_value=default_config, description="node parameter YAML"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node and topics"),
        DeclareLaunchArgument("thermal_topic", default_value="thermal/image", description="thermal images"),
        DeclareLaunchArgument("rgb_topic", default_value="rgb/image", description="RGB images"),
        DeclareLaunchArgument("backend", default_value="auto",
                              description="auto | tensorrt | cuda | onnxruntime | cpu"),
        DeclareLaunchArgument("autostart", default_value="true", description="configure + activate at start"),
        DeclareLaunchArgument("log_level", default_value="info"),
    ]
    node = LifecycleNode(
        package="sgdfuse_ros",
        executable="fusion_node",
        name="sgdfuse",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("config"),
                    {"pipeline.runtime.backend": LaunchConfiguration("backend"),
                     "autostart": LaunchConfiguration("autostart")}],
        remappings=[("thermal/image", LaunchConfiguration("thermal_topic")),
                    ("rgb/image", LaunchConfiguration("rgb_topic"))],
        arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
        output="screen",
    )
    return LaunchDescription([*args, node])
