"""Example: thermal + RGB fusion feeding a YOLO detector (mgonzs13/yolo_ros) with ``fused_image``.

    ros2 launch sgdfuse_ros sgdfuse_yolo.launch.py thermal_topic:=/flir/image_raw \
        rgb_topic:=/camera/color/image_raw model:=yolov8n.pt device:=cuda:0

Needs the ``yolo_ros`` packages (``yolo_bringup``) in the workspace; sgdfuse's outputs are reliable, so
they reach YOLO's subscriber whichever reliability it asks for.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    namespace = LaunchConfiguration("namespace")
    args = [
        DeclareLaunchArgument("namespace", default_value="fusion", description="fusion node namespace"),
        DeclareLaunchArgument("thermal_topic", default_value="/thermal/image"),
        DeclareLaunchArgument("rgb_topic", default_value="/rgb/image"),
        DeclareLaunchArgument("backend", default_value="auto"),
        DeclareLaunchArgument("model", default_value="yolov8n.pt", description="YOLO weights"),
        DeclareLaunchArgument("device", default_value="cuda:0"),
    ]
    fusion = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare("sgdfuse_ros"), "launch",
                                                            "sgdfuse.launch.py"])),
        launch_arguments={"namespace": namespace, "thermal_topic": LaunchConfiguration("thermal_topic"),
                          "rgb_topic": LaunchConfiguration("rgb_topic"),
                          "backend": LaunchConfiguration("backend")}.items(),
    )
    yolo = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare("yolo_bringup"), "launch",
                                                            "yolo.launch.py"])),
        launch_arguments={"input_image_topic": ["/", namespace, "/fused_image"],
                          "model": LaunchConfiguration("model"), "device": LaunchConfiguration("device"),
                          "namespace": "yolo"}.items(),
    )
    return LaunchDescription([*args, fusion, yolo])
