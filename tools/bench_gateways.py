"""Benchmark the Zalo OA gateway's webhook: time to Zalo's HTTP 200 (Zalo retries after 2 s) and time until the
reply reaches the (fake) Zalo API, with N residents writing at once. The LAST printed line is one JSON object.

Runs on loopback against a fake Rasa (a fixed 50 ms answer) and a fake Zalo API, with the real gateway and a real Redis
(BENCH_GATEWAY_REDIS_URL, default db 8, flushed).

    PYTHONPATH=. .venv/app/bin/python tools/bench_gateways.py [--residents 50] [--messages 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

from aiohttp import ClientSession

from bot.state import connect
from bot.zalo.oa import ZaloOAGateway
from tests.auxil.fake_rasa import FakeRasa
from tests.auxil.fake_zalo_oa import FakeZaloOA, event
from tests.bot.gateways import client_for, common, zalo_settings

REDIS_URL = os.environ.get("BENCH_GATEWAY_REDIS_URL", "redis://127.0.0.1:6379/8")


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


async def main(residents: int, messages: int) -> dict[str, Any]:
    redis = connect(REDIS_URL)
    await redis.flushdb()
    async with FakeRasa() as rasa, FakeZaloOA() as zalo_api:
        rasa.delay_s = 0.05  # a typical answer from our stack (sequential median ~20–50 ms)
        gateway = ZaloOAGateway(zalo_settings(zalo_api.base), common(rasa.url, REDIS_URL), redis)
        client = await client_for(gateway.app())
        url = str(client.make_url("/webhooks/zalo-oa"))
        acks: list[float] = []
        sent_at: dict[str, float] = {}

        async def resident(i: int, session: ClientSession) -> None:
            for k in range(messages):
                body, headers = event(f"r{i}", f"câu hỏi {k} của người {i}")
                sent_at[f"r{i}:{k}"] = time.perf_counter()
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    assert response.status == 200
                acks.append((time.perf_counter() - start) * 1000)
                await asyncio.sleep(0.2)

        started, cpu_started = time.perf_counter(), time.process_time()
        async with ClientSession() as session:
            await asyncio.gather(*(resident(i, session) for i in range(residents)))
        total = residents * messages
        while len(zalo_api.messages) < total and time.perf_counter() - started < 120:
            await asyncio.sleep(0.01)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        await client.close()
    await redis.flushdb()
    await redis.aclose()
    return {"residents": residents, "messages": total, "delivered": len(zalo_api.messages),
            "ack_median_ms": round(statistics.median(acks), 1), "ack_p95_ms": round(p95(acks), 1),
            "ack_max_ms": round(max(acks), 1), "elapsed_s": round(elapsed, 1),
            "delivered_per_s": round(len(zalo_api.messages) / elapsed, 1),
            # this process runs the fakes and the load too, so this is an upper bound of the gateway's own cost
            "cpu_ms_per_message_upper_bound": round(cpu * 1000 / max(1, total), 2)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--messages", type=int, default=4)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.residents, args.messages))))
