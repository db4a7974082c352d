"""Lifecycle of the fusion node: bad parameters fail configure cleanly; transitions via the ROS services."""

from __future__ import annotations

import re

import pytest

rclpy = pytest.importorskip("rclpy")
from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from sgdfuse_ros.ros.fusion_node import FusionNode  # noqa: E402

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


def make_node(namespace: str, **params) -> FusionNode:
    overrides = [Parameter(k.replace("__", "."), value=v) for k, v in params.items()]
    return FusionNode(namespace=namespace, parameter_overrides=overrides)


@pytest.mark.parametrize(("params", "reason"), [
    ({"sync__slop": "fast"}, "parameter sync.slop: expected a number"),
    ({"sync__policy": "latest"}, "sync.policy must be one of"),
    ({"publish__encoding": "mono8"}, "publish.encoding must be one of"),
    ({"pipeline__stage1__method": "no_such_method"}, "unknown fusion method 'no_such_method'"),
    ({"pipeline__input__homography": [1.0, 0.0]}, "homography needs 9 values"),
    ({"sync__slopp": 0.1}, r"unknown parameter\(s\): sync.slopp"),
])
def test_configure_with_bad_parameters_fails_cleanly(ros, capfd, params, reason):
    node = make_node("/lc_bad", **params)
    try:
        assert node.trigger_configure() == FAILURE
        assert node._state_machine.current_state[1] == "unconfigured"
        assert node.pipeline is None and node.params is None
        err = capfd.readouterr().err
        assert "configure failed" in err
        assert re.search(reason, err), err
    finally:
        node.destroy_node()


def test_configure_succeeds_once_the_parameter_is_fixed(ros):
    node = make_node("/lc_fix", sync__slop="fast", pipeline__stage1__method="average")
    try:
        assert node.trigger_configure() == FAILURE
        node.set_parameters([Parameter("sync.slop", value=0.05)])
        assert node.trigger_configure() == SUCCESS
        assert node.params.sync.slop == 0.05 and node.pipeline.name == "average"
    finally:
        node.destroy_node()


def call(client, request, spinner_wait, timeout=10.0):
    assert client.wait_for_service(timeout_sec=timeout)
    future = client.call_async(request)
    assert spinner_wait(future.done, timeout)
    return future.result()


def test_transitions_through_the_lifecycle_services(ros, spin, wait_for):
    node = make_node("/lc", pipeline__stage1__method="average")
    peer = rclpy.create_node("lc_peer", namespace="/lc")
    spin(node, peer)
    change = peer.create_client(ChangeState, "/lc/sgdfuse/change_state")
    get = peer.create_client(GetState, "/lc/sgdfuse/get_state")

    def transition(tid: int) -> bool:
        return call(change, ChangeState.Request(transition=Transition(id=tid)), wait_for).success

    def state() -> str:
        return call(get, GetState.Request(), wait_for).current_state.label

    def endpoints() -> tuple[int, int, int]:
        return (peer.count_publishers("/lc/fused_image"), peer.count_subscribers("/lc/thermal/image"),
                peer.count_subscribers("/lc/rgb/image"))

    try:
        assert state() == "unconfigured" and endpoints() == (0, 0, 0)
        assert transition(Transition.TRANSITION_CONFIGURE) and state() == "inactive"
        assert wait_for(lambda: endpoints() == (1, 0, 0))  # publishers exist, not subscribed yet
        assert transition(Transition.TRANSITION_ACTIVATE) and state() == "active"
        assert wait_for(lambda: endpoints() == (1, 1, 1))
        assert node.worker is not None and node.worker.running
        assert transition(Transition.TRANSITION_DEACTIVATE) and state() == "inactive"
        assert wait_for(lambda: endpoints() == (1, 0, 0)) and node.worker is None
        assert transition(Transition.TRANSITION_CLEANUP) and state() == "unconfigured"
        assert wait_for(lambda: endpoints() == (0, 0, 0)) and node.pipeline is None
        assert transition(Transition.TRANSITION_CONFIGURE) and transition(Transition.TRANSITION_ACTIVATE)
        assert transition(Transition.TRANSITION_ACTIVE_SHUTDOWN) and state() == "finalized"
        assert wait_for(lambda: endpoints() == (0, 0, 0))
        assert not transition(Transition.TRANSITION_CONFIGURE)  # nothing after finalized
    finally:
        node.destroy_node()
        peer.destroy_node()


def test_a_pipeline_that_cannot_load_fails_configure(ros, capfd):
    def broken(config):
        raise RuntimeError("CUDA out of memory")

    node = FusionNode(namespace="/lc_broken", pipeline_factory=broken)
    try:
        assert node.trigger_configure() == FAILURE
        assert node._state_machine.current_state[1] == "unconfigured"
        assert "CUDA out of memory" in capfd.readouterr().err
    finally:
        node.destroy_node()
