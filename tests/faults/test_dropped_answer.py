"""The answer to a filing is lost on the way (issue 11 point 7), against a served app: sending the same
form again gets the original decision and its withdraw token, never a ``duplicate_application`` refusal.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import asyncpg
import httpx
import msgspec
from faults_support import children_iins, parents, prepare_database

from devservices import ServerFactory

SCHOOL = "150645269256"


async def test_the_same_form_refiled_after_a_dropped_answer_gets_the_original_decision(
    database_url: str, redis_url: str, kezek_server: ServerFactory
) -> None:
    prepare_database(database_url)
    parent, other_parent = parents(2)
    child, other_child = children_iins(2)
    form = {"applicant_iin": parent, "child_iin": child, "school_bin": SCHOOL, "language": "kk", "consent": True}
    body = msgspec.json.encode(form)
    with kezek_server(database_url, redis_url, workers=1) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            view = (await client.post("/v1/rooms/astana/visitors", json={"applicant_iin": parent})).json()
            token = view["access_token"]
            # The form goes out and is decided; the connection drops before the parent reads the answer.
            # (Closing the socket right after sending would race the server's read of the request: a
            # request the server never read was never filed, which is another fault.)
            db = await asyncpg.connect(database_url)
            try:
                with socket.create_connection(("127.0.0.1", served.port)) as sock:
                    sock.sendall(
                        b"POST /v1/applications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    for _ in range(400):
                        decided = await db.fetchrow("SELECT id, status FROM applications WHERE child_iin = $1", child)
                        if decided is not None:
                            break
                        await asyncio.sleep(0.05)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # (SO_LINGER 0: the close is a reset, the answer is thrown away unread)
                assert decided is not None, "the first filing was decided"
                assert decided["status"] == "accepted"

                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                again = await client.post("/v1/applications", content=body, headers=headers)
                assert again.status_code == 201, again.text
                answer = again.json()
                assert (answer["id"], answer["status"], answer["refusal"]) == (str(decided["id"]), "accepted", None)
                # the repeated withdraw token is the application's own
                read = await client.get(
                    f"/v1/applications/{answer['id']}", headers={"Authorization": f"Bearer {answer['withdraw_token']}"}
                )
                assert read.status_code == 200

                # With an Idempotency-Key a new slot repeats it too; the key with another form is a 422.
                async def slot() -> str:
                    joined = await client.post("/v1/rooms/astana/visitors", json={"applicant_iin": other_parent})
                    return f"Bearer {joined.json()['access_token']}"

                other = msgspec.json.encode({**form, "applicant_iin": other_parent, "child_iin": other_child})
                keyed = {"Content-Type": "application/json", "Idempotency-Key": "form-7"}
                first = await client.post(
                    "/v1/applications", content=other, headers={**keyed, "Authorization": await slot()}
                )
                assert first.status_code == 201, first.text
                repeat = await client.post(
                    "/v1/applications", content=other, headers={**keyed, "Authorization": await slot()}
                )
                assert (repeat.status_code, repeat.json()["id"]) == (201, first.json()["id"])
                changed = msgspec.json.encode({**msgspec.json.decode(other), "language": "ru"})
                reused = await client.post(
                    "/v1/applications", content=changed, headers={**keyed, "Authorization": await slot()}
                )
                assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
                assert reused.headers["content-type"].startswith("application/problem+json")
                blank = await client.post(
                    "/v1/applications",
                    content=other,
                    headers={**keyed, "Idempotency-Key": "", "Authorization": await slot()},
                )
                assert (blank.status_code, blank.json()["code"]) == (400, "validation_error")
                assert await db.fetchval("SELECT count(*) FROM applications WHERE child_iin = $1", child) == 1
                assert await db.fetchval("SELECT count(*) FROM applications WHERE child_iin = $1", other_child) == 1
            finally:
                await db.close()
