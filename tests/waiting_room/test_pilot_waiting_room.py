"""Pilot para 5 (seed 004): past the allowed number at once, recipients wait in the room and see their place."""

from __future__ import annotations

from room_helpers import DURING, iins, open_room

from admission.waiting_room import WaitingRoom


async def test_pilot_para_5_past_the_limit_a_recipient_waits_with_a_position_then_is_let_in(room: WaitingRoom) -> None:
    await open_room(room, max_active=1, arrival_grace=60, abandon_after=600)
    first, second, third = iins(3)
    admitted = await room.join("astana", first, DURING)
    waiting = [await room.join("astana", who, DURING) for who in (second, third)]
    assert admitted.status == "admitted"  # type: ignore[union-attr]
    assert [(p.status, p.position) for p in waiting] == [("waiting", 1), ("waiting", 2)]  # type: ignore[union-attr]
    assert await room.release("astana", first, admitted.jti, DURING)  # type: ignore[union-attr]
    turn = await room.visit("astana", second, DURING)
    assert (turn.status, bool(turn.jti)) == ("admitted", True)  # automatically let in to the service
    assert (await room.visit("astana", third, DURING)).position == 1
