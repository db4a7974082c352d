"""Time synchronisers: message_filters' ApproximateTime scenarios, exact sync, drops, clock jumps."""

from __future__ import annotations

import random

import pytest

from sgdfuse_ros.errors import ConfigError
from sgdfuse_ros.stream.sync import (
    CLOCK_RESET,
    OUT_OF_ORDER,
    QUEUE_OVERFLOW,
    UNMATCHED,
    ApproximateTimeSynchronizer,
    ExactTimeSynchronizer,
    SyncConfig,
    make_synchronizer,
)

S = 1_000_000_000  # one second in ns
NO_SLOP = 1e9  # seconds: the C++ policy's default (unbounded) max interval


def run(inputs: list[tuple[float, int]], queue_size: int = 10, n: int = 2, slop: float = NO_SLOP, **kw):
    """Feed (time in s, topic) pairs; return the emitted sets as tuples of times (s) and the synchroniser.

    ``sync.emitted_at`` lists, per set, the time of the input message whose arrival released it.
    """
    out: list[tuple[float, ...]] = []
    emitted_at: list[float] = []
    now = [0.0]

    def callback(*payloads: float) -> None:
        out.append(tuple(payloads))
        emitted_at.append(now[0])

    sync = ApproximateTimeSynchronizer(n, queue_size, callback, slop_s=slop, **kw)
    for t, topic in inputs:
        now[0] = t
        sync.add(topic, round(t * S), t)
    sync.emitted_at = emitted_at
    return out, sync


def check_accounting(sync) -> None:
    st = sync.stats
    for i in range(sync.n):
        assert st.received[i] == st.matched[i] + st.dropped_total(i) + sync.pending()[i]
    assert all(m == st.sets for m in st.matched)


# --- scenarios (inputs and expected outputs) of message_filters' C++ test_approximate_time_policy ---


def test_exact_match():
    out, sync = run([(0, 0), (0, 1), (3, 0), (3, 1), (6, 0), (6, 1)])
    assert out == [(0, 0), (3, 3), (6, 6)]
    assert sync.emitted_at == [0, 3, 6]
    check_accounting(sync)


def test_perfect_match():
    out, sync = run([(0, 0), (1, 1), (3, 0), (4, 1), (6, 0), (7, 1)])
    assert out == [(0, 1), (3, 4)]
    assert sync.emitted_at == [3, 6]  # released as soon as no later message can do better
    assert sync.pending() == [1, 1]  # c and C wait for a possibly better partner
    check_accounting(sync)


def test_imperfect_match():
    out, sync = run([(0, 0), (1, 1), (2, 0), (3, 0), (5, 1), (6, 0), (7, 1)])
    assert out == [(0, 1), (6, 5)]
    assert sync.emitted_at == [2, 6]
    check_accounting(sync)
    assert sync.stats.dropped[UNMATCHED][0] == 2  # x and b were superseded


def test_acceleration():
    out, sync = run([(0, 0), (7, 1), (12, 0), (15, 1), (17, 0), (18, 1)])
    assert out == [(12, 7), (17, 18)]
    assert sync.emitted_at == [12, 18]
    check_accounting(sync)


@pytest.mark.parametrize(("queue_size", "expected"), [
    (1, [(4, 3), (10, 11)]),
    (2, [(0, 1), (4, 3), (8, 7), (10, 11)]),
])
def test_dropped_messages(queue_size, expected):
    inputs = [(0, 0), (1, 1), (3, 1), (4, 0), (7, 1), (8, 0), (10, 0), (11, 1), (13, 0), (14, 1)]
    out, sync = run(inputs, queue_size)
    assert out == expected
    assert sync.emitted_at == ([7, 13] if queue_size == 1 else [4, 7, 11, 13])
    check_accounting(sync)
    if queue_size == 1:
        assert sum(sync.stats.dropped[QUEUE_OVERFLOW]) > 0


def test_long_queue():
    inputs = [(t, 0) for t in range(9)] + [(3, 1)] + [(t, 0) for t in (9, 10, 11, 12)] + [(10, 1), (13, 0)]
    out, sync = run(inputs, 5)
    assert out == [(10, 10)]
    assert sync.emitted_at == [10]
    check_accounting(sync)


def test_double_publish():
    out, sync = run([(0, 0), (1, 1), (3, 1), (3, 0)])
    assert out == [(0, 1), (3, 3)]
    assert sync.emitted_at == [3, 3]
    assert sync.pending() == [0, 0]
    check_accounting(sync)


def test_four_topics():
    inputs = [(0, 0), (1, 1), (2, 2), (3, 3), (5, 0), (5, 3), (6, 1), (6, 2), (8, 0), (9, 1), (10, 2),
              (11, 3), (10, 0), (13, 0), (14, 1)]
    out, sync = run(inputs, n=4)
    assert out == [(0, 1, 2, 3), (5, 6, 6, 5), (10, 9, 10, 11)]
    # the C++ test's diagram draws the 2nd set at t=11, but its policy already proves it optimal when i (8)
    # arrives: any later set would span at least [f=5, 8], worse than (e, g, h, f)'s spread of 1
    assert sync.emitted_at == [6, 8, 14]
    check_accounting(sync)


def test_early_publish():
    out, sync = run([(0, 0), (1, 1), (2, 2), (3, 3), (7, 0)], n=4)
    assert out == [(0, 1, 2, 3)]
    assert sync.emitted_at == [7]  # proved optimal although topics 1-3 have nothing newer yet


@pytest.mark.parametrize(("bound", "expected", "emitted_at"), [
    (0.0, [(0, 1), (3, 4)], [3, 6]),  # without a bound a set waits for the next frame
    (1.5, [(0, 1), (3, 4)], [3, 6]),  # too weak: a next frame at +1.5 s could still make a better set
    (2.0, [(0, 1), (3, 4), (6, 7)], [1, 4, 7]),  # proves each set optimal when its second message arrives
])
def test_rate_bound(bound, expected, emitted_at):
    out, sync = run([(0, 0), (1, 1), (3, 0), (4, 1), (6, 0), (7, 1)], min_interval_s=[bound, 0.0])
    assert out == expected
    assert sync.emitted_at == emitted_at


# --- slop, rates, realistic camera streams ---


def test_slop_bounds_the_spread():
    out, sync = run([(0.0, 0), (0.05, 1), (0.10, 0), (0.16, 1), (0.2, 0), (0.2, 1)], slop=0.02)
    assert out == [(0.2, 0.2)]
    check_accounting(sync)
    out, _ = run([(0.0, 0), (0.02, 1), (1.0, 0), (1.0, 1)], slop=0.02)
    assert out[0] == (0.0, 0.02)  # a spread equal to the slop is allowed, as in the C++ policy


def camera_streams(n: int, rate: float, offset: float, jitter: float, seed: int):
    rng = random.Random(seed)
    thermal = [(i / rate + offset + rng.uniform(-jitter, jitter), 0) for i in range(n)]
    rgb = [(i / rate + rng.uniform(-jitter, jitter), 1) for i in range(n)]
    return thermal, rgb


def interleave(a, b, rng, max_delay: float):
    """Arrival order: each message delayed by a random transport time; per-topic order kept."""
    events, last = [], [0.0, 0.0]
    for t, topic in a + b:
        arrival = max(last[topic], t + rng.uniform(0, max_delay))
        last[topic] = arrival
        events.append((arrival, t, topic))
    events.sort(key=lambda e: e[0])
    return [(t, topic) for _, t, topic in events]


@pytest.mark.parametrize("seed", range(5))
def test_jittery_cameras_pair_every_frame(seed):
    thermal, rgb = camera_streams(300, 30.0, offset=0.004, jitter=0.003, seed=seed)
    thermal.sort()
    rgb.sort()
    inputs = interleave(thermal, rgb, random.Random(seed + 100), max_delay=0.03)
    out, sync = run(inputs, queue_size=5, slop=0.015)
    sync.close()
    assert len(out) >= 299  # the last pair may wait for a partner that never comes
    assert out == [(thermal[k][0], rgb[k][0]) for k in range(len(out))]  # frame k with frame k, in order
    check_accounting(sync)


@pytest.mark.parametrize("min_interval", [0.0, 0.02])
def test_min_interval_releases_each_pair_on_its_second_message(min_interval):
    thermal, rgb = camera_streams(100, 30.0, offset=0.004, jitter=0.003, seed=1)
    out, sync = run(sorted(thermal + rgb), queue_size=5, slop=0.015, min_interval_s=min_interval)
    assert out[:99] == [(thermal[k][0], rgb[k][0]) for k in range(99)]
    on_second = [at == max(pair) for at, pair in zip(sync.emitted_at, out, strict=True)]
    assert all(on_second) if min_interval else not any(on_second)  # else: one frame later


def test_different_rates_pick_the_nearest_frame():
    thermal = [(i / 10.0 + 0.001, 0) for i in range(50)]  # 10 Hz
    rgb = [(i / 30.0, 1) for i in range(150)]  # 30 Hz
    inputs = sorted(thermal + rgb)
    out, sync = run(inputs, queue_size=10, slop=0.02)
    assert len(out) >= 49
    for t_ir, t_rgb in out:
        nearest = min((t for t, _ in rgb), key=lambda t: abs(t - t_ir))
        assert t_rgb == nearest
    assert sync.stats.dropped[UNMATCHED][1] >= 90  # two of three RGB frames have no thermal partner
    check_accounting(sync)


def test_deterministic():
    thermal, rgb = camera_streams(100, 30.0, 0.01, 0.005, seed=3)
    inputs = interleave(sorted(thermal), sorted(rgb), random.Random(7), 0.05)
    assert run(inputs, 4, slop=0.02)[0] == run(inputs, 4, slop=0.02)[0]


def test_random_streams_keep_the_invariants():
    rng = random.Random(11)
    for _ in range(30):
        times = [sorted(rng.uniform(0, 5) for _ in range(rng.randint(1, 60))) for _ in range(2)]
        inputs = interleave([(t, 0) for t in times[0]], [(t, 1) for t in times[1]], rng, 0.2)
        slop = rng.choice([0.0, 0.01, 0.05, 0.3])
        out, sync = run(inputs, queue_size=rng.randint(1, 8), slop=slop)
        check_accounting(sync)
        for a, b in out:
            assert abs(a - b) <= slop + 1e-9
        for k in range(1, len(out)):  # each message at most once, sets in time order
            assert out[k][0] > out[k - 1][0] and out[k][1] > out[k - 1][1]


# --- robustness: order, clock jumps, a camera that stops ---


@pytest.mark.parametrize("policy", ["approximate", "exact"])
def test_out_of_order_message_is_dropped_and_counted(policy):
    out: list = []
    sync = make_synchronizer(SyncConfig(policy=policy, slop=0.01), lambda *p: out.append(p))
    sync.add(0, 1 * S, "a1")
    sync.add(0, 1 * S - S // 100, "a0 late")  # 10 ms behind: out of order
    sync.add(0, 1 * S, "a1 again")  # same stamp twice
    sync.add(1, 1 * S, "b1")
    assert out == [("a1", "b1")]
    assert sync.stats.dropped[OUT_OF_ORDER] == [2, 0]
    check_accounting(sync)


@pytest.mark.parametrize("policy", ["approximate", "exact"])
def test_clock_jump_back_resets_the_queues(policy):
    out: list = []
    resets: list = []
    sync = make_synchronizer(SyncConfig(policy=policy, slop=0.01, jump_back=1.0), lambda *p: out.append(p),
                             on_reset=lambda i, jump: resets.append((i, jump)))
    for k in range(5):
        sync.add(0, 100 * S + k * S // 10, ("ir", k))
        sync.add(1, 100 * S + k * S // 10, ("rgb", k))
    sync.add(0, 100 * S + 5 * S // 10, ("ir", 5))  # waits for its partner...
    sync.add(0, 2 * S, ("ir", "after"))  # ...when the bag loops: 98 s back
    sync.add(1, 2 * S, ("rgb", "after"))  # the other topic is not seen as a second jump
    assert resets == [(0, 98 * S + 5 * S // 10)]
    assert sync.stats.resets == 1
    assert sync.stats.dropped[CLOCK_RESET] == [1, 0]
    assert out[-1] == (("ir", "after"), ("rgb", "after"))
    check_accounting(sync)


def test_a_stopped_camera_cannot_grow_the_queue():
    sync = ApproximateTimeSynchronizer(2, 4, lambda *p: None, slop_s=0.01)
    for k in range(100):  # thermal stopped: only RGB arrives
        sync.add(1, k * S // 30, k)
    assert sync.pending() == [0, 4]
    assert sync.stats.max_queue == [0, 4]
    assert sync.stats.dropped[QUEUE_OVERFLOW][1] == 96
    check_accounting(sync)


def test_exact_sync():
    out: list = []
    sync = ExactTimeSynchronizer(2, 3, lambda *p: out.append(p))
    for t in (1, 2, 3, 5):
        sync.add(0, t, f"a{t}")
    for t in (2, 4, 5):
        sync.add(1, t, f"b{t}")
    assert out == [("a2", "b2"), ("a5", "b5")]
    st = sync.stats
    assert st.dropped[QUEUE_OVERFLOW] == [1, 0]  # a1 pushed out by a5 (queue of 3)
    assert st.dropped[UNMATCHED] == [1, 1]  # a3 and b4 can never be completed
    sync.close()
    check_accounting(sync)


def test_sync_config_validation():
    with pytest.raises(ConfigError, match="policy"):
        SyncConfig(policy="nearest")
    with pytest.raises(ConfigError, match="queue_size"):
        SyncConfig(queue_size=0)
    with pytest.raises(ConfigError, match="slop"):
        SyncConfig(slop=-0.1)
    with pytest.raises(ConfigError, match="stale_timeout"):
        SyncConfig(stale_timeout=0)
