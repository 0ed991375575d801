"""The upstream the threads benchmark's apps wait on: a TCP server on
127.0.0.1:PORT that answers each line "MS" after MS milliseconds, as a
database answers a query.  Usage: python3 bench/upstream.py PORT"""
import asyncio
import sys


async def serve(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        await asyncio.sleep(int(line) / 1000)
        writer.write(b'ok\n')
        await writer.drain()
    writer.close()


async def main(port):
    server = await asyncio.start_server(serve, '127.0.0.1', port,
                                        backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    asyncio.run(main(int(sys.argv[1])))
