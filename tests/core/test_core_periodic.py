import asyncio
import logging

from bastion.core.periodic import cancel, repeat


async def test_repeat_survives_a_failing_tick_and_cancel_waits_for_it(caplog):
    ticks: list[int] = []

    async def tick() -> None:
        ticks.append(len(ticks))
        if len(ticks) == 2:
            raise RuntimeError("one bad run")

    task = asyncio.ensure_future(
        repeat(0.001, tick, logger=logging.getLogger("test.periodic"), what="test tick")
    )
    for _ in range(500):
        if len(ticks) >= 4:
            break
        await asyncio.sleep(0.005)
    await cancel(task)
    assert len(ticks) >= 4 and task.done() and task.cancelled()
    assert "test tick failed" in caplog.text and "one bad run" in caplog.text
    await cancel(None)  # nothing to stop is fine
