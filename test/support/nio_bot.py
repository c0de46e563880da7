"""A matrix-nio bot for the end-to-end test test/e2e/nio-bot.test.ts (run by /usr/bin/python3, which has Debian's
python3-matrix-nio and python3-olm).

It logs in with a password, syncs, joins every room it is invited to, and answers each decrypted text message from
someone else with "echo: <body>", encrypted, trusting the room's devices without verifying them
(ignore_unverified_devices). It reports what happens as JSON lines on stdout (ready, joined, message,
undecryptable, sent, error) and stops when its stdin closes or reads "stop".

    /usr/bin/python3 nio_bot.py HOMESERVER_URL USER_ID PASSWORD STORE_DIR
"""
import asyncio
import json
import sys

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    LoginResponse,
    MegolmEvent,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)


def report(kind, **fields):
    print(json.dumps({"event": kind, **fields}), flush=True)


async def main(homeserver, user_id, password, store_dir):
    config = AsyncClientConfig(store_sync_tokens=True, encryption_enabled=True)
    client = AsyncClient(homeserver, user_id, store_path=store_dir, config=config)

    async def on_invite(room, event):
        if event.state_key != client.user_id or event.membership != "invite":
            return
        response = await client.join(room.room_id)
        if getattr(response, "room_id", None):
            report("joined", room_id=room.room_id)
        else:
            report("error", what="join", detail=str(response))

    async def on_text(room, event):
        if event.sender == client.user_id:
            return
        report("message", room_id=room.room_id, sender=event.sender, event_id=event.event_id, body=event.body,
               decrypted=bool(event.decrypted))
        response = await client.room_send(
            room.room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": f"echo: {event.body}"},
            ignore_unverified_devices=True,
        )
        if isinstance(response, RoomSendResponse):
            report("sent", room_id=room.room_id, event_id=response.event_id)
        else:
            report("error", what="send", detail=str(response))

    async def on_undecryptable(room, event):
        report("undecryptable", room_id=room.room_id, sender=event.sender, event_id=event.event_id)

    client.add_event_callback(on_invite, InviteMemberEvent)
    client.add_event_callback(on_text, RoomMessageText)
    client.add_event_callback(on_undecryptable, MegolmEvent)

    login = await client.login(password, device_name="nio e2e bot")
    if not isinstance(login, LoginResponse):
        report("error", what="login", detail=str(login))
        await client.close()
        return 1

    first = asyncio.Event()

    async def after_sync(_response):
        if not first.is_set():
            # Our device keys are on the server before anyone is told we are ready.
            if client.should_upload_keys:
                await client.keys_upload()
            first.set()
            report("ready", device_id=client.device_id)

    client.add_response_callback(after_sync, SyncResponse)
    sync = asyncio.ensure_future(client.sync_forever(timeout=5000, full_state=True))
    sync.add_done_callback(lambda task: task.cancelled() or report("error", what="sync", detail=repr(task.exception())))

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line or line.strip() == b"stop":
            break
    sync.cancel()
    try:
        await sync
    except (asyncio.CancelledError, Exception):
        pass
    await client.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
