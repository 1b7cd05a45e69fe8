"""kubelet's hard eviction, timed by hand: the check runs every 10 s (k/k pkg/kubelet/kubelet.go).

A tick runs the full check only when a threshold is met (or a pressure
condition stands); these tests pin the first tick at which a threshold is met,
so a tick that missed it would move it.
"""

from __future__ import annotations

import simhelp as h

ZERO_IMAGE = {"name": "test/app:1", "layers": [{"size": 0, "unpacked": 0}]}


def _events(res, reason: str):
    return res.events[res.events.reason == reason]


def test_host_path_writes_meet_nodefs_available_at_the_next_check():
    # 100 GiB volume, 20 GiB OS, 0-byte images: nodefs.available<10% is met once the
    # host writes pass 70 GiB. At 3 MiB/s from t = 1 s (0.5 s sandbox + 0.5 s
    # container) that is t = 1 + 70 * 1024 / 3 = 23894.33 s; the check runs at 23900.
    data = h.scenario(
        [
            {
                "manifest": h.pod("shipper", host_process=True),
                "profile": {"hostWrites": "3Mi/s"},
            }
        ],
        [ZERO_IMAGE],
        duration="8h",
        node=h.node(disk="100Gi", osDiskUsage="20Gi"),
    )
    res = h.run(data)
    met = _events(res, "EvictionThresholdMet")
    assert met.time_s.iloc[0] == 23900.0
    assert met.message.iloc[0] == "Attempting to reclaim ephemeral-storage"
    assert _events(res, "NodeHasDiskPressure").time_s.tolist() == [23900.0]
    evicted = _events(res, "Evicted")
    assert evicted.time_s.tolist() == [23900.0]
    # Evicting the writer frees none of its host-path bytes: the pressure stays.
    assert _events(res, "NodeHasNoDiskPressure").empty


def test_a_leak_meets_memory_available_at_the_next_check():
    # Commit limit 4 GiB (no pagefile), memory.available<500Mi: met once the pod's commit
    # passes 4096 - 500 = 3596 MiB. From 1024 MiB at t = 3 s (2 s sandbox + 1 s
    # container), growing 3 MiB/s: t = 3 + 2572 / 3 = 860.33 s, just past a check; the
    # next runs at 870, before the commit limit itself would refuse at 3 + 3072 / 3 = 1027 s.
    data = h.scenario(
        [{"manifest": h.pod("leaky"), "profile": {"memory": "1Gi", "memoryGrowth": "3Mi/s"}}],
        [ZERO_IMAGE],
        duration="1h",
        node=h.node(memory="4Gi"),
    )
    res = h.run(data)
    met = _events(res, "EvictionThresholdMet")
    assert met.time_s.iloc[0] == 870.0
    assert met.message.iloc[0] == "Attempting to reclaim memory"
    assert _events(res, "Evicted").time_s.tolist() == [870.0]
    pod = res.pods.set_index("pod").loc["leaky"]
    assert pod.reason == "Evicted"
