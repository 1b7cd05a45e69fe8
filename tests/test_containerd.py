"""containerd pulls: hand-computed timings, layer sharing, removal, and properties.

Unless a test says otherwise, the network is 100 MiB/s and unpack runs at 20 MiB/s
of compressed input. So 100 MiB takes 1 s to download alone and 5 s to unpack.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from simpy.events import NORMAL

from hpsim.node.containerd import Containerd, Image, Layer, PullResult

MiB = 2**20
GiB = 2**30
NET = 100 * MiB
UNPACK = 20 * MiB


class Rig:
    """A containerd on a fresh clock that logs every fact with its time."""

    def __init__(self, **kw: Any) -> None:
        self.env = simpy.Environment()
        self.facts: list[tuple[float, str, dict[str, Any]]] = []
        kw = {"network_Bps": NET, "unpack_Bps": UNPACK, **kw}
        self.ctrd = Containerd(self.env, on_fact=self._record, **kw)

    def _record(self, kind: str, fields: dict[str, Any]) -> None:
        self.facts.append((self.env.now, kind, fields))

    def pull_at(self, at: float, image: Image) -> simpy.Process:
        def go() -> Any:
            yield self.env.timeout(at)
            result = yield self.ctrd.pull(image)
            return result

        return self.env.process(go())

    def times(self, kind: str) -> list[float]:
        return [t for t, k, _ in self.facts if k == kind]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for _, k, f in self.facts if k == kind]


def layer(name: str, mib: float, unpacked_mib: float | None = None) -> Layer:
    unpacked = 2 * mib if unpacked_mib is None else unpacked_mib
    return Layer(f"sha256:{name}", int(mib * MiB), int(unpacked * MiB))


BASE = layer("base", 200, 500)
A = Image("app/a:1", (BASE, layer("a", 100, 150)))
B = Image("app/b:1", (BASE, layer("b", 50, 80)))


def test_one_layer_downloads_then_unpacks() -> None:
    rig = Rig()
    img = Image("one:1", (Layer("sha256:big", GiB, 2 * GiB),))
    proc = rig.ctrd.pull(img)
    rig.env.run()
    r: PullResult = proc.value
    assert r.downloaded == pytest.approx(10.24)  # 1024 MiB / 100 MiB/s
    assert r.finished == pytest.approx(10.24 + 51.2)  # + 1024 MiB / 20 MiB/s
    assert (r.bytes_downloaded, r.bytes_unpacked) == (GiB, 2 * GiB)
    assert (rig.ctrd.content_bytes, rig.ctrd.snapshot_bytes) == (GiB, 2 * GiB)
    assert rig.ctrd.images() == ["one:1"]
    assert rig.ctrd.image_size("one:1") == GiB


def test_three_downloads_share_the_link_then_the_fourth_runs_alone() -> None:
    # Layers 1-3 get 100/3 MiB/s each and all finish at t=3; layer 4 then has the
    # whole link: 100 MiB in 1 s, done at t=4. Unpack of layer 1 starts at 3 (its
    # download), 5 s per layer: 3->8, 8->13, 13->18, 18->23. Finished at 23.
    rig = Rig()
    img = Image("four:1", tuple(layer(f"l{i}", 100) for i in range(1, 5)))
    proc = rig.ctrd.pull(img)
    rig.env.run()
    assert rig.times("layer_downloaded") == pytest.approx([3, 3, 3, 4])
    assert rig.times("layer_unpacked") == pytest.approx([8, 13, 18, 23])
    assert proc.value.downloaded == pytest.approx(4)
    assert proc.value.finished == pytest.approx(23)


class CountingEnv(simpy.Environment):
    """Logs every timeout, to show that nothing steps time."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[tuple[float, float]] = []

    def schedule(self, event: simpy.Event, priority: Any = NORMAL, delay: float = 0) -> None:
        if isinstance(event, simpy.Timeout):
            self.timeouts.append((self.now, delay))
        super().schedule(event, priority, delay)


def test_network_schedules_one_wakeup_per_change_of_the_download_set() -> None:
    # Network wake-ups: at t=0, one per layer 1-3 as it joins (the first two go
    # stale), and one at t=3 when layer 4 starts. The finishes at t=3 and t=4 leave
    # nothing in flight. Unpack: one wake-up per layer, each applied alone. A stale
    # wake-up that was not ignored would schedule more timeouts.
    env = CountingEnv()
    ctrd = Containerd(env, network_Bps=NET, unpack_Bps=UNPACK)
    ctrd.pull(Image("four:1", tuple(layer(f"l{i}", 100) for i in range(1, 5))))
    env.run()
    expected = [(0, 1), (0, 2), (0, 3), (3, 5), (3, 1), (8, 5), (13, 5), (18, 5)]
    assert [t for pair in env.timeouts for t in pair] == pytest.approx(
        [t for pair in expected for t in pair]
    )


@pytest.mark.parametrize(
    ("limit", "downloaded", "finished"),
    [
        # One at a time: layer i is in at t=i. Unpack 1->6, 6->11, 11->16, 16->21.
        # Unpack starts 2 s sooner than with 3 slots, so the pull ends sooner.
        (1, 4, 21),
        # As in the previous test.
        (3, 4, 23),
        # All four share the link and arrive together at t=4. Unpack runs 4->24.
        (4, 4, 24),
    ],
)
def test_max_concurrent_downloads(limit: int, downloaded: float, finished: float) -> None:
    rig = Rig(max_concurrent_downloads=limit)
    img = Image("four:1", tuple(layer(f"l{i}", 100) for i in range(1, 5)))
    proc = rig.ctrd.pull(img)
    rig.env.run()
    assert proc.value.downloaded == pytest.approx(downloaded)
    assert proc.value.finished == pytest.approx(finished)


def test_second_image_on_same_base_fetches_and_unpacks_only_its_own_layer() -> None:
    # A: base (200) and a (100) share the link, so a is in at 2 and base at 3.
    # Unpack: base 3->13, a 13->18.
    # B then starts at 18. Only b (50 MiB) downloads: 18->18.5. Unpack: b 18.5->21.
    rig = Rig()
    first = rig.pull_at(0, A)
    second = rig.pull_at(18, B)
    rig.env.run()
    assert first.value.finished == pytest.approx(18)
    b = second.value
    assert (b.started, b.downloaded, b.finished) == pytest.approx((18, 18.5, 21))
    assert b.bytes_downloaded == 50 * MiB
    assert b.bytes_unpacked == 80 * MiB
    assert rig.ctrd.content_bytes == (200 + 100 + 50) * MiB


def test_concurrent_pulls_download_a_shared_layer_once() -> None:
    # base, a and b are in flight together, at 100/3 MiB/s each. B's base slot waits
    # on A's download of base. b (50) is in at 1.5. Then a and base get 50 MiB/s each,
    # so a (50 left) is in at 2.5. base (100 left) is then alone and in at 3.5.
    # A unpacks base alone 3.5->13.5. B waits for A's unpack of the base chain (it does
    # not apply it again). From 13.5 A applies a (100 MiB) and B applies b (50 MiB), at
    # 10 MiB/s each: b is done at 18.5; a, 50 MiB left, is then alone at 20 MiB/s: 21.
    rig = Rig()
    pa, pb = rig.pull_at(0, A), rig.pull_at(0, B)
    rig.env.run()
    a, b = pa.value, pb.value
    assert (a.downloaded, a.finished) == pytest.approx((3.5, 21))
    assert (b.downloaded, b.finished) == pytest.approx((3.5, 18.5))
    # Seconds each spent applying its own layers: A 10 (base) + 7.5 (a), B 5 (b).
    assert (a.unpack_s, b.unpack_s) == pytest.approx((17.5, 5))
    assert (a.bytes_downloaded, b.bytes_downloaded) == (300 * MiB, 50 * MiB)
    assert (a.bytes_unpacked, b.bytes_unpacked) == (650 * MiB, 80 * MiB)
    assert Counter(f["digest"] for f in rig.of("layer_downloaded"))[BASE.digest] == 1
    assert rig.ctrd.content_bytes == (200 + 100 + 50) * MiB
    assert rig.ctrd.snapshot_bytes == (500 + 150 + 80) * MiB


def test_different_images_pulled_concurrently_share_bandwidth() -> None:
    # x (200 MiB) runs alone 0->1 (100 MiB done). From 1 it shares the link with y
    # (300 MiB) at 50 MiB/s each, so x is in at 3 and y has 200 MiB left.
    # y is then alone and in at 5. Unpack: x alone 3->5 (40 MiB of 200 applied); from 5
    # x and y share 20 MiB/s, 10 each: x's 160 MiB are done at 21, when y has 140 MiB
    # left, alone at 20 MiB/s: 28. The extractor is busy from 3 to 28: 500 MiB / 20.
    rig = Rig()
    px = rig.pull_at(0, Image("x:1", (layer("x", 200),)))
    py = rig.pull_at(1, Image("y:1", (layer("y", 300),)))
    rig.env.run()
    assert (px.value.downloaded, px.value.finished) == pytest.approx((3, 21))
    assert (py.value.started, py.value.downloaded, py.value.finished) == pytest.approx((1, 5, 28))


def test_layer_applies_in_flight_share_the_unpack_throughput() -> None:
    """Unpack is a node-wide resource, shared equally by the applies in flight.

    x (100 MiB) is pulled at 0: alone on the link, it is in at 1 and applied from 1
    at 20 MiB/s. y (50 MiB) is pulled at 2: alone on the link, in at 2.5. By then x
    has 1.5 s x 20 = 30 MiB applied, 70 left. From 2.5 the two share 20 MiB/s, 10
    each: y's 50 MiB are done at 2.5 + 5 = 7.5, when x has 20 MiB left; alone again
    at 20 MiB/s, x is done at 8.5. Alone they would have ended at 6 and 5.

    Work-conserving: 150 MiB of applies at 20 MiB/s is 7.5 s, and the extractor is
    busy from 1 to 8.5 without a gap. Each pull's unpack_s is its apply's wall time:
    x 1 -> 8.5 (7.5 s), y 2.5 -> 7.5 (5 s).
    """
    rig = Rig()
    px = rig.pull_at(0, Image("x:1", (layer("x", 100),)))
    py = rig.pull_at(2, Image("y:1", (layer("y", 50),)))
    rig.env.run()
    x, y = px.value, py.value
    assert (x.downloaded, x.finished, x.unpack_s) == pytest.approx((1, 8.5, 7.5))
    assert (y.downloaded, y.finished, y.unpack_s) == pytest.approx((2.5, 7.5, 5))
    assert rig.times("layer_unpacked") == pytest.approx([7.5, 8.5])


def test_two_applies_of_equal_layers_at_once_both_take_twice_as_long() -> None:
    """containerd/containerd#11451's shape: two equal applies started together.

    Two 100 MiB layers of different digests (two ``ctr`` clients each apply the layer
    themselves: ctr's local unpack takes no chain lock) are in at 2 s (they share the
    link, 50 MiB/s each). Alone, one apply takes 100 / 20 = 5 s; together they get
    10 MiB/s each and both end at 2 + 10 = 12: twice the time alone.
    """
    rig = Rig()
    p1 = rig.pull_at(0, Image("one:1", (layer("copy1", 100),)))
    p2 = rig.pull_at(0, Image("two:1", (layer("copy2", 100),)))
    rig.env.run()
    for p in (p1, p2):
        assert (p.value.downloaded, p.value.finished, p.value.unpack_s) == pytest.approx(
            (2, 12, 10)
        )


def test_pulling_a_present_image_finishes_at_once_with_nothing_moved() -> None:
    rig = Rig()
    rig.pull_at(0, A)
    rig.env.run()
    facts = len(rig.facts)
    again = rig.ctrd.pull(A)
    now = rig.env.now
    rig.env.run()
    assert rig.env.now == now
    assert again.value == PullResult(A.ref, now, now, now, 0, 0)
    assert len(rig.facts) == facts


def test_empty_layer_pulls_in_no_time() -> None:
    rig = Rig()
    proc = rig.ctrd.pull(Image("pause:1", (Layer("sha256:empty", 0, 0),)))
    rig.env.run()
    assert proc.value.finished == 0
    assert rig.ctrd.has_image("pause:1")


def test_remove_image_frees_only_what_no_other_image_uses() -> None:
    rig = Rig()
    rig.pull_at(0, A)
    rig.pull_at(0, B)
    rig.env.run()
    assert rig.ctrd.remove_image(A.ref) == (100 * MiB, 150 * MiB)
    assert not rig.ctrd.has_image(A.ref)
    assert (rig.ctrd.content_bytes, rig.ctrd.snapshot_bytes) == (250 * MiB, 580 * MiB)
    assert rig.ctrd.remove_image(B.ref) == (250 * MiB, 580 * MiB)
    assert (rig.ctrd.content_bytes, rig.ctrd.snapshot_bytes) == (0, 0)
    assert rig.ctrd.images() == []
    assert rig.of("image_removed")[0] == {
        "ref": A.ref,
        "content_bytes_freed": 100 * MiB,
        "snapshot_bytes_freed": 150 * MiB,
    }


def test_a_blob_is_shared_by_digest_but_a_snapshot_only_by_chain() -> None:
    # q sits on top of p in X and alone in Y. There is one blob q, but the chains
    # (p, q) and (q) are two snapshots.
    p, q = layer("p", 100, 100), layer("q", 10, 30)
    x, y = Image("x:1", (p, q)), Image("y:1", (q,))
    rig = Rig()
    rig.pull_at(0, x)
    py = rig.pull_at(100, y)
    rig.env.run()
    assert (py.value.bytes_downloaded, py.value.bytes_unpacked) == (0, 30 * MiB)
    assert rig.ctrd.content_bytes == 110 * MiB
    assert rig.ctrd.snapshot_bytes == (100 + 30 + 30) * MiB
    assert rig.ctrd.remove_image("x:1") == (100 * MiB, 130 * MiB)


def test_discard_unpacked_layers_keeps_no_blobs_and_reuses_snapshots() -> None:
    rig = Rig(discard_unpacked_layers=True)
    rig.pull_at(0, A)
    pb = rig.pull_at(100, B)
    rig.env.run(until=50)
    assert (rig.ctrd.content_bytes, rig.ctrd.snapshot_bytes) == (0, 650 * MiB)
    rig.env.run()
    # The base chain is already a snapshot, so the unpacker does not fetch base again.
    assert pb.value.bytes_downloaded == 50 * MiB
    assert (rig.ctrd.content_bytes, rig.ctrd.snapshot_bytes) == (0, 730 * MiB)


def test_discard_keeps_blobs_a_pull_in_flight_still_uses() -> None:
    # Timings as in the concurrent test: B ends at 18.5 and A at 21. A's lease still
    # holds base and a when B ends.
    rig = Rig(discard_unpacked_layers=True)
    rig.pull_at(0, A)
    rig.pull_at(0, B)
    rig.env.run(until=19)
    assert rig.ctrd.content_bytes == 300 * MiB
    rig.env.run()
    assert rig.ctrd.content_bytes == 0


def test_facts_and_times_repeat_exactly() -> None:
    def run() -> list[tuple[float, str, dict[str, Any]]]:
        rig = Rig()
        for i, img in enumerate((A, B, Image("x:1", (layer("x", 33),)))):
            rig.pull_at(i * 0.7, img)
        rig.env.run()
        return rig.facts

    assert run() == run()


# -- properties ------------------------------------------------------------------------------

POOL = [layer(f"d{i}", mib) for i, mib in enumerate([7, 120, 33.5, 64, 1, 250])]

pulls_st = st.lists(
    st.tuples(
        st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=4, unique=True),
        st.floats(0, 30, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=6,
)


def _run_pulls(
    pulls: list[tuple[list[int], float]], net: float, unpack: float, limit: int
) -> tuple[Rig, list[Image], list[PullResult]]:
    rig = Rig(network_Bps=net, unpack_Bps=unpack, max_concurrent_downloads=limit)
    images = [Image(f"img{n}:1", tuple(POOL[i] for i in idx)) for n, (idx, _) in enumerate(pulls)]
    procs = [rig.pull_at(at, img) for img, (_, at) in zip(images, pulls, strict=True)]
    rig.env.run()
    return rig, images, [p.value for p in procs]


@settings(max_examples=150, deadline=None)
@given(
    pulls=pulls_st,
    net=st.sampled_from([10 * MiB, 100 * MiB, 1e9 / 8]),
    unpack=st.sampled_from([5 * MiB, 14e6, 50 * MiB]),
    limit=st.integers(1, 4),
)
def test_each_blob_downloads_once_and_no_pull_beats_its_own_work(
    pulls: list[tuple[list[int], float]], net: float, unpack: float, limit: int
) -> None:
    rig, images, results = _run_pulls(pulls, net, unpack, limit)
    distinct = {lay.digest: lay.size for img in images for lay in img.layers}
    chains = {
        c: lay.unpacked for img in images for c, lay in zip(img.chain_ids, img.layers, strict=True)
    }
    downloads = Counter(f["digest"] for f in rig.of("layer_downloaded"))
    assert downloads == Counter(distinct.keys())
    assert rig.ctrd.content_bytes == sum(distinct.values())
    assert rig.ctrd.snapshot_bytes == sum(chains.values())
    assert sum(r.bytes_unpacked for r in results) == sum(chains.values())
    assert sorted(rig.ctrd.images()) == sorted(img.ref for img in images)
    for r in results:
        own_fetched = {f["digest"] for f in rig.of("layer_downloaded") if f["ref"] == r.ref}
        own_unpacks = [f for f in rig.of("layer_unpacked") if f["ref"] == r.ref]
        unpack_s = sum(f["compressed_bytes"] for f in own_unpacks) / unpack
        # Downloads are bounded by the link. Unpacks are one stream, and that stream
        # cannot start before the layer it applies first has arrived.
        bound = max(r.bytes_downloaded / net, unpack_s)
        if own_unpacks and own_unpacks[0]["digest"] in own_fetched:
            bound = max(bound, own_unpacks[0]["compressed_bytes"] / net + unpack_s)
        assert r.started <= r.downloaded <= r.finished
        assert r.finished - r.started >= bound * (1 - 1e-9)


@settings(max_examples=100, deadline=None)
@given(
    pulls=pulls_st.map(lambda ps: [(idx, 0.0) for idx, _ in ps]),
    limit=st.integers(1, 4),
)
def test_link_is_work_conserving(pulls: list[tuple[list[int], float]], limit: int) -> None:
    # Pulls start together. Every layer still waiting for a slot has its slots held by
    # downloads in flight, so the link never idles: the last blob arrives exactly at
    # (distinct bytes) / network.
    rig, images, _ = _run_pulls(pulls, NET, UNPACK, limit)
    distinct = {lay.digest: lay.size for img in images for lay in img.layers}
    assert max(rig.times("layer_downloaded")) == pytest.approx(sum(distinct.values()) / NET)
