"""Streaming building blocks of the ROS node, without ROS (so they are unit-tested without DDS).

- ``mailbox``: the one-slot mailbox and worker thread that keep inference off the executor thread;
- ``stats``: rates, latency percentiles, counters and the diagnostics report;
- ``fusion``: one synchronised thermal/RGB message pair -> encoded output images (node and bag tools);
- ``node_params``: the node's own parameters (topics, QoS, sync, outputs) and their validation;
- ``sync``: the thermal/RGB synchroniser (message_filters' policies, with accounting);
- ``encodings``: ``sensor_msgs/Image`` encodings <-> numpy, without ROS (node and bag tools).
"""
