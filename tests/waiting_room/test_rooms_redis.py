"""The room in Redis: fair order, the cap on active slots, refills without polling, windows."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from room_helpers import ASTANA_CLOSES, ASTANA_OPENS, DURING, SlotWatch, iins, open_room

from admission.signing_keys import KeySet
from admission.waiting_room import Place, WaitingRoom, WindowRefusal
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.keys import room_keys
from admission.waiting_room.room import SessionOp, SlotUse, file_op, heartbeat_op, release_op, visit_op
from admission.waiting_room.tickets import TicketSigner
from admission.waiting_room.visitors import Visitors

T = TypeVar("T")


async def _active(redis: aioredis.Redis, region: str = "astana") -> set[str]:
    return {m.decode() for m in await redis.zrange(room_keys(region)[3], 0, -1)}


async def test_two_thousand_concurrent_joins_never_exceed_max_active_and_admit_in_queue_order(
    redis_url: str, redis_client: aioredis.Redis
) -> None:
    if isinstance(redis_client, RedisCluster):  # the suite on a cluster: a cluster client, a socket per join
        cluster = cast(aioredis.Redis, RedisCluster.from_url(redis_url, max_connections=2500))
        try:
            await _concurrent_joins(WaitingRoom(cluster), redis_client)
        finally:
            await cluster.aclose()
        return
    pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=300, timeout=30)
    client = aioredis.Redis(connection_pool=pool)
    try:
        await _concurrent_joins(WaitingRoom(client), redis_client)
    finally:
        await client.aclose()
        await pool.disconnect()


async def _concurrent_joins(room: WaitingRoom, redis_client: aioredis.Redis) -> None:
    await open_room(room, max_active=50)
    people = iins(2000)
    async with SlotWatch(redis_client, every=0) as slots:
        places = await asyncio.gather(*(room.join("astana", iin, DURING) for iin in people))

    assert all(isinstance(p, Place) for p in places)
    admitted = [iin for iin, p in zip(people, places, strict=True) if isinstance(p, Place) and p.status == "admitted"]
    assert len(admitted) == 50
    assert slots.peak <= 50
    # every visitor has a distinct place, and the 50 admitted hold the first 50 places
    order = [(await room.visit("astana", iin, DURING), iin) for iin in people]
    seqs = {iin: p.seq for p, iin in order if p.status == "waiting"}
    assert len(set(seqs.values())) == 1950
    assert min(seqs.values()) == 51
    assert max(seqs.values()) == 2000

    # releasing 10 admits exactly the next 10 in queue order, without anyone polling
    later = DURING + dt.timedelta(seconds=5)
    for iin in admitted[:10]:
        place = await room.visit("astana", iin, later)
        assert await room.release("astana", iin, place.jti, later)
    next_ten = sorted(seqs, key=seqs.__getitem__)[:10]
    assert await _active(redis_client) == set(admitted[10:]) | set(next_ten)

    # an hour later every lease and arrival grace has ended; the waiting kept polling (touch);
    # one sweep, with nobody else polling, admits the next 50 in queue order
    after = later + dt.timedelta(hours=1)
    assert await room.touch("astana", list(seqs), after) == 1940
    report = await room.sweep("astana", after)
    assert (report.expired, report.admitted) == (50, 50)
    assert await _active(redis_client) == set(sorted(seqs, key=seqs.__getitem__)[10:60])


async def test_releases_and_expiries_refill_in_fifo_order_without_polling(
    room: WaitingRoom, redis_client: aioredis.Redis
) -> None:
    await open_room(room, max_active=3, arrival_grace=60, abandon_after=600)
    people = iins(8)
    for i, iin in enumerate(people):
        await room.join("astana", iin, DURING + dt.timedelta(milliseconds=i))
    assert await _active(redis_client) == set(people[:3])

    first = await room.visit("astana", people[0], DURING)
    assert await room.release("astana", people[0], first.jti, DURING)
    assert not await room.release("astana", people[0], first.jti, DURING)  # idempotent
    assert await _active(redis_client) == set(people[1:4])

    # nobody polls; the sweeper ends the arrival graces of 1..3 and admits 4..6
    report = await room.sweep("astana", DURING + dt.timedelta(seconds=61))
    assert (report.expired, report.admitted) == (3, 3)
    assert await _active(redis_client) == set(people[4:7])


async def test_the_same_applicant_from_twenty_concurrent_requests_holds_one_place(
    room: WaitingRoom, redis_client: aioredis.Redis
) -> None:
    await open_room(room, max_active=0)
    others = iins(5, start=100)
    for iin in others[:3]:
        await room.join("astana", iin, DURING)
    me = iins(1)[0]
    places = await asyncio.gather(*(room.join("astana", me, DURING) for _ in range(20)))
    assert {p.seq for p in places if isinstance(p, Place)} == {4}
    assert all(isinstance(p, Place) and p.position == 4 for p in places)
    assert await redis_client.llen(room_keys("astana")[1]) == 4


async def test_shuffle_prequeue_shuffles_who_joined_before_opening(
    room: WaitingRoom, redis_client: aioredis.Redis
) -> None:
    before = ASTANA_OPENS - dt.timedelta(minutes=30)
    await open_room(room, now=before, max_active=0, queue_policy="shuffle_prequeue", abandon_after=7200)
    people = iins(300)
    for i, iin in enumerate(people):
        await room.join("astana", iin, before + dt.timedelta(milliseconds=i))
    late = iins(5, start=1000)
    at_opening = ASTANA_OPENS + dt.timedelta(seconds=1)
    for iin in late:
        await room.join("astana", iin, at_opening)

    positions = {iin: (await room.visit("astana", iin, at_opening)).position for iin in [*people, *late]}
    assert sorted(positions[iin] for iin in people) == list(range(1, 301))  # a permutation of the pre-queue
    assert [positions[iin] for iin in people] != list(range(1, 301))  # not arrival order
    assert [positions[iin] for iin in late] == list(range(301, 306))  # after opening: FIFO, behind the pre-queue
    # admitted in exactly that order
    await room.configure("astana", {"max_active": 100}, at_opening)
    assert await _active(redis_client) == {iin for iin, position in positions.items() if position <= 100}


async def test_fifo_keeps_arrival_order_across_the_opening(room: WaitingRoom, redis_client: aioredis.Redis) -> None:
    before = ASTANA_OPENS - dt.timedelta(minutes=30)
    await open_room(room, now=before, max_active=2, abandon_after=7200)
    people = iins(5)
    for iin in people:
        place = await room.join("astana", iin, before)
        assert isinstance(place, Place)
        assert place.status == "waiting"  # nobody is admitted before the window opens
    await room.sweep("astana", ASTANA_OPENS)
    assert await _active(redis_client) == set(people[:2])


async def test_window_edges_in_kazakhstan_time(room: WaitingRoom) -> None:
    await open_room(room, now=ASTANA_OPENS - dt.timedelta(days=1), prequeue_minutes=60, abandon_after=7200)
    a, b, c, d = iins(4)
    prequeue_opens = dt.datetime(2026, 5, 26, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert await room.join("astana", a, prequeue_opens - dt.timedelta(milliseconds=1)) == WindowRefusal(
        reason="not_open"
    )
    waiting = await room.join("astana", a, prequeue_opens)
    assert isinstance(waiting, Place)
    assert waiting.status == "waiting"
    # one millisecond before 2026-05-27T00:00+05:00 nobody is admitted; at that instant the head is
    just_before = await room.join("astana", b, ASTANA_OPENS - dt.timedelta(milliseconds=1))
    assert isinstance(just_before, Place)
    assert just_before.status == "waiting"
    assert (await room.visit("astana", a, ASTANA_OPENS)).status == "admitted"
    assert dt.datetime(2026, 5, 26, 19, 0, tzinfo=dt.UTC) == ASTANA_OPENS  # UTC+5
    last = await room.join("astana", c, ASTANA_CLOSES - dt.timedelta(milliseconds=1))
    assert isinstance(last, Place)
    assert await room.join("astana", d, ASTANA_CLOSES) == WindowRefusal(reason="closed")


async def test_queue_full_beyond_max_waiting(room: WaitingRoom) -> None:
    await open_room(room, max_active=1, max_waiting=3)
    people = iins(5)
    results = [await room.join("astana", iin, DURING) for iin in people]
    assert [r.status for r in results[:4] if isinstance(r, Place)] == ["admitted", "waiting", "waiting", "waiting"]
    assert isinstance(results[4], WindowRefusal)
    assert results[4].reason == "full"
    # a visitor already holding a place is never refused
    assert isinstance(await room.join("astana", people[2], DURING), Place)


async def test_visitors_who_stop_polling_are_skipped_at_the_head(
    room: WaitingRoom, redis_client: aioredis.Redis
) -> None:
    await open_room(room, max_active=1, abandon_after=120)
    holder, gone, stays = iins(3)
    for iin in (holder, gone, stays):
        await room.join("astana", iin, DURING)
    later = DURING + dt.timedelta(seconds=200)
    assert await room.touch("astana", [stays], later) == 1
    place = await room.visit("astana", holder, later)
    await room.release("astana", holder, place.jti, later)
    assert await _active(redis_client) == {stays}
    assert (await room.visit("astana", gone, later)).status == "gone"


async def test_raising_max_active_admits_more_lowering_evicts_no_one(
    room: WaitingRoom, redis_client: aioredis.Redis
) -> None:
    await open_room(room, max_active=2)
    people = iins(6)
    for iin in people:
        await room.join("astana", iin, DURING)
    await room.configure("astana", {"max_active": 5}, DURING)
    assert await _active(redis_client) == set(people[:5])
    await room.configure("astana", {"max_active": 1}, DURING)
    assert await _active(redis_client) == set(people[:5])
    place = await room.visit("astana", people[0], DURING)
    await room.release("astana", people[0], place.jti, DURING)
    assert await _active(redis_client) == set(people[1:5])  # below the new cap only after four more leave


async def test_heartbeat_keeps_the_slot_and_an_ended_lease_cannot_be_renewed(room: WaitingRoom) -> None:
    await open_room(room, max_active=1, session_ttl=60)
    me = iins(1)[0]
    await room.join("astana", me, DURING)
    place = await room.visit("astana", me, DURING)
    lease = await room.heartbeat("astana", me, place.jti, DURING + dt.timedelta(seconds=50))
    assert lease == DURING + dt.timedelta(seconds=110)
    assert await room.heartbeat("astana", me, place.jti, DURING + dt.timedelta(seconds=111)) is None
    assert await room.heartbeat("astana", me, "not-my-slot", DURING) is None


async def test_a_waiting_visitor_costs_at_most_200_bytes_of_redis(
    room: WaitingRoom, redis_client: aioredis.Redis
) -> None:
    await open_room(room, max_active=0, max_waiting=1_000_000)
    refs = ApplicantRefs(b"a ticket secret")
    people = [refs.ref(iin) for iin in iins(20_000, start=200_000)]  # the room keeps references (38 characters)
    before = int((await redis_client.info("memory"))["used_memory"])
    for start in range(0, len(people), 1000):
        await room.join_many("astana", people[start : start + 1000], DURING)
    after = int((await redis_client.info("memory"))["used_memory"])
    assert await redis_client.llen(room_keys("astana")[1]) == 20_000
    assert (after - before) / 20_000 <= 200


async def test_the_wait_is_estimated_from_the_measured_rate_and_polls_spread_with_distance(room: WaitingRoom) -> None:
    from admission.waiting_room.visitors import poll_after

    await open_room(room, max_active=1, session_ttl=900, abandon_after=3600)
    people = iins(40)
    for iin in people:
        await room.join("astana", iin, DURING)
    # a slot frees every 2 s for 20 s: 0.5 per second
    for second in range(0, 20, 2):
        now = DURING + dt.timedelta(seconds=second)
        places = {iin: await room.visit("astana", iin, now) for iin in people}
        holder = next(iin for iin, place in places.items() if place.status == "admitted")
        await room.release("astana", holder, places[holder].jti, now)
    now = DURING + dt.timedelta(seconds=20)
    state = await room.state("astana", now)
    assert 0.45 <= state.free_rate <= 0.6
    assert 50 <= state.eta_seconds(25, now) <= 56  # 25 ahead at ~0.5 per second (before: 900 s leases, ~0.001/s)
    near = [poll_after(state.eta_seconds(1, now), 1) for _ in range(50)]
    far = [poll_after(3600, 5000) for _ in range(50)]
    assert max(near) <= 2.4
    assert min(far) >= 24
    assert len(set(far)) > 5  # jittered


async def test_the_opening_shuffle_is_fair_and_complete(room: WaitingRoom, redis_client: aioredis.Redis) -> None:
    """5,000 pre-queued: each gets one place, the order owes nothing to when they joined, all are admitted once."""
    before = ASTANA_OPENS - dt.timedelta(minutes=30)
    await open_room(room, now=before, max_active=0, queue_policy="shuffle_prequeue", abandon_after=7200)
    people = iins(5000, start=20_000)
    for start in range(0, len(people), 250):  # joining again changes nothing: the draw is made once
        await room.join_many("astana", people[start : start + 250], before)
        await room.join_many("astana", people[start : start + 10], before)
    opening = ASTANA_OPENS + dt.timedelta(seconds=1)
    await room.configure("astana", {"max_active": 500}, opening)
    first = await _active(redis_client)
    assert len(first) == 500
    # every tenth of the arrivals gets about a tenth of the first 500 places (50 expected, sd ~7)
    shares = [len(first & set(people[i : i + 500])) for i in range(0, 5000, 500)]
    assert all(20 <= share <= 80 for share in shares), shares
    # the places are a permutation; a visitor's place owes nothing to its arrival (rank correlation ~0)
    places = [(await room.visit("astana", iin, opening)) for iin in people]
    waiting = {iin: p.position for iin, p in zip(people, places, strict=True) if p.status == "waiting"}
    assert sorted(waiting.values()) == list(range(1, 4501))
    ranks = [waiting[iin] for iin in people if iin in waiting]
    mean = (len(ranks) + 1) / 2
    covariance = sum((i - mean) * (r - mean) for i, r in enumerate(ranks, start=1))
    spread = sum((r - mean) ** 2 for r in ranks)
    assert abs(covariance / spread) < 0.1
    # complete: everyone is admitted exactly once, in the drawn order
    await room.configure("astana", {"max_active": 5000}, opening)
    assert await _active(redis_client) == set(people)
    assert (await room.state("astana", opening)).waiting == 0


async def test_joins_arriving_while_a_join_call_is_out_go_together_in_the_next_one_in_arrival_order(
    room: WaitingRoom, redis_client: aioredis.Redis, keys: KeySet
) -> None:
    """A surge on one worker: joins arrive one per event-loop tick.  Each gets its own place in the
    order it came, and they cost Redis a few script calls, not one each (a call in flight collects
    the next batch)."""
    await open_room(room, max_active=0)
    visitors = await _visitors(room, keys)
    refs = visitors.refs
    people = iins(60)
    before = await _script_calls(redis_client)
    joins = []
    for iin in people:
        joins.append(asyncio.create_task(visitors.join("astana", iin, DURING)))
        await asyncio.sleep(0)  # the next join arrives in the next tick
    views = await asyncio.gather(*joins)
    calls = await _script_calls(redis_client) - before

    assert [view.position for view in views] == list(range(1, 61))
    assert calls <= 30, calls  # one call per join (per tick) before
    # each ticket names its holder's place
    for iin, view in zip(people, views, strict=True):
        assert (await room.visit("astana", refs.ref(iin), DURING)).position == view.position


async def test_joins_a_worker_gathers_for_its_window_go_in_one_call_below_saturation_too(
    room: WaitingRoom, redis_client: aioredis.Redis, keys: KeySet
) -> None:
    """Joins 10 ms apart, each of which alone would find no call in flight (a Redis round trip is shorter):
    without a window each goes in a call of its own; with one (KEZEK_ROOM_JOIN_WINDOW_MS) the joins of a
    window go together (up to 8, when it closes early), each still at its own place in the order it came."""
    await open_room(room, max_active=0)
    calls: dict[float, int] = {}
    for window in (0.0, 0.2):
        visitors = await _visitors(room, keys, window)
        people = iins(40, start=1000 if window else 0)
        joins = [visitors.join("astana", iin, DURING) for iin in people]
        views, calls[window] = await _ten_ms_apart(redis_client, joins)
        positions = [view.position for view in views]
        assert positions == list(range(positions[0], positions[0] + 40))

    assert calls[0.2] <= 8, calls  # 40 joins, a window closing at 8 of them
    assert calls[0.0] >= 2 * calls[0.2], calls


async def test_a_join_window_keeps_a_lone_join_for_its_length_but_never_a_client_that_came_back(
    room: WaitingRoom, redis_client: aioredis.Redis, keys: KeySet
) -> None:
    """A long window (1 s): a join alone waits it out; eight clients that join at once, and join again
    as soon as they are answered (a closed loop), fill the window up to the last call's size and go at
    once, round after round."""
    await open_room(room, max_active=0)
    visitors = await _visitors(room, keys, 1.0)
    people = iins(41, start=2000)

    started = asyncio.get_running_loop().time()
    await visitors.join("astana", people[0], DURING)
    assert asyncio.get_running_loop().time() - started >= 0.99

    for round_ in range(5):
        started = asyncio.get_running_loop().time()
        views = await asyncio.gather(
            *(visitors.join("astana", iin, DURING) for iin in people[1 + 8 * round_ : 9 + 8 * round_])
        )
        assert asyncio.get_running_loop().time() - started < 0.5, round_
        assert len({view.position for view in views}) == 8


async def test_a_workers_slot_operations_go_together_in_few_calls_each_answered_as_alone(
    room: WaitingRoom, redis_client: aioredis.Redis, keys: KeySet
) -> None:
    """Admitted visitors' first polls, heartbeats, filings and releases, 10 ms apart on one worker, are
    gathered like joins (up to 8 a call in a window), and each gets the answer it would get alone."""
    await open_room(room, max_active=10)
    visitors = await _visitors(room, keys, 0.2)
    refs = visitors.refs
    people = iins(10, start=3000)
    slots = []
    for iin in people:
        place = await room.join("astana", refs.ref(iin), DURING)
        assert isinstance(place, Place)
        assert place.status == "admitted"
        slots.append((refs.ref(iin), place.jti))
    waiting_ref = refs.ref(iins(1, start=3100)[0])
    waiting = await room.join("astana", waiting_ref, DURING)
    assert isinstance(waiting, Place)
    assert waiting.position == 1

    ops: list[SessionOp[Any]] = []
    for ref, jti in slots:
        ops += [visit_op(ref), heartbeat_op(ref, jti), file_op("astana", ref, jti, f"child-{ref}", 2)]
    ops += [
        release_op(*slots[0]),
        release_op(*slots[0]),
        heartbeat_op(*slots[0]),
        visit_op(waiting_ref),
    ]
    answers, calls = await _ten_ms_apart(redis_client, [visitors.slot_op("astana", op, DURING) for op in ops])

    assert calls <= 8, calls  # 34 operations: one call each before
    for i in range(10):
        arrived, lease, filed = answers[3 * i : 3 * i + 3]
        assert arrived.status == "admitted"
        assert arrived.jti == slots[i][1]
        assert lease == DURING + dt.timedelta(seconds=45)
        assert filed == SlotUse(outcome="ok", filed=1)
    # in arrival order: the first release frees the slot, the second finds it free, the heartbeat finds it gone,
    # and the freed slot went to the visitor who waited
    assert answers[30:33] == [True, False, None]
    assert answers[33].status == "admitted"
    assert (await room.visit("astana", waiting_ref, DURING)).status == "admitted"


async def _ten_ms_apart(redis_client: aioredis.Redis, calls: list[Coroutine[Any, Any, T]]) -> tuple[list[T], int]:
    """Start the calls 10 ms apart (each alone would find no call in flight): their answers, and the script
    calls Redis ran for them."""
    before = await _script_calls(redis_client)
    tasks = []
    for call in calls:
        tasks.append(asyncio.create_task(call))
        await asyncio.sleep(0.01)
    answers = await asyncio.gather(*tasks)
    return answers, await _script_calls(redis_client) - before


async def _visitors(room: WaitingRoom, keys: KeySet, join_window: float = 0.0) -> Visitors:
    """A worker's visitors of astana (its snapshot read), joins gathered for ``join_window`` seconds."""
    visitors = Visitors(
        room, TicketSigner(b"k" * 32), keys, ApplicantRefs(b"r" * 32), regions=["astana"], join_window=join_window
    )
    await visitors.snapshot("astana")
    return visitors


async def _script_calls(redis_client: aioredis.Redis) -> int:
    """Script calls the room's Redis ran (on a cluster: every node's)."""
    if isinstance(redis_client, RedisCluster):
        per_node = await redis_client.info("commandstats", target_nodes=RedisCluster.ALL_NODES)  # type: ignore[call-arg]
        nodes = list(per_node.values())
    else:
        nodes = [await redis_client.info("commandstats")]
    names = ("cmdstat_evalsha", "cmdstat_eval")
    return sum(int(stats.get(name, {}).get("calls", 0)) for stats in nodes for name in names)
