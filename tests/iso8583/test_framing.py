from __future__ import annotations

import asyncio
import random

from posops.iso8583.framing import FrameAssembler, read_frame, write_frame
from tests.iso8583.helpers import captures

FRAMES = list(captures().values())


def test_assembler_cuts_any_chunking_into_the_same_frames() -> None:
    stream = b"".join(FRAMES)
    rng = random.Random(7)
    for _ in range(50):
        assembler = FrameAssembler()
        out: list[bytes] = []
        at = 0
        while at < len(stream):
            step = rng.randint(1, 40)
            out += assembler.feed(stream[at:at + step])
            at += step
        assert out == FRAMES
        assert assembler.pending == 0


def test_assembler_reset_drops_a_partial_frame() -> None:
    assembler = FrameAssembler()
    assert assembler.feed(FRAMES[0][:10]) == []
    assembler.reset()
    assert assembler.feed(FRAMES[1]) == [FRAMES[1]]


def test_async_read_and_write_over_a_socket_pair() -> None:
    async def main() -> list[bytes | None]:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while (frame := await read_frame(reader)) is not None:
                await write_frame(writer, frame)
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        got: list[bytes | None] = []
        for frame in FRAMES[:3]:
            writer.write(frame[:5])
            await writer.drain()
            await write_frame(writer, frame[5:])
            got.append(await read_frame(reader))
        writer.write_eof()
        got.append(await read_frame(reader))
        writer.close()
        server.close()
        await server.wait_closed()
        return got

    assert asyncio.run(main()) == [*FRAMES[:3], None]
