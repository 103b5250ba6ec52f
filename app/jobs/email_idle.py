"""Mail within seconds: one IMAP IDLE watcher per mailbox polls it as soon as the server
announces a message. The scheduled poll stays as the safety net (a server without IDLE,
a dropped connection, a notification lost while reconnecting)."""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from app.jobs.email_poll import mailboxes, poll_mailbox
from channels.email.imap import Mailbox, wait_for_mail

log = logging.getLogger("guichet.jobs.email_idle")
RETRY_SECONDS = (1, 5, 15, 60)


class MailWatchers:
    def __init__(self, ctx: dict[str, Any]) -> None:
        self.ctx = ctx
        self.stop = threading.Event()
        self.tasks: list[asyncio.Task] = []
        self.polls: set[asyncio.Task] = set()

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._watch(box), name=f"imap-idle:{box.name}")
                      for box in mailboxes(self.ctx) if box.idle]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, *self.polls, return_exceptions=True)

    async def _watch(self, mailbox: Mailbox) -> None:
        loop = asyncio.get_running_loop()

        def on_new_mail() -> None:  # called from the IDLE thread
            loop.call_soon_threadsafe(self._poll_soon, mailbox)

        failures = 0
        while not self.stop.is_set():
            try:
                if not await asyncio.to_thread(wait_for_mail, mailbox, self.stop, on_new_mail):
                    log.info("mailbox %s: the server has no IDLE, scheduled polling only", mailbox.name)
                    return
                failures = 0
            except Exception as exc:  # the server went away: wait, reconnect, and poll what we missed
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("mailbox %s: IDLE connection lost (%s), again in %s s",
                            mailbox.name, type(exc).__name__, delay)
                await asyncio.to_thread(self.stop.wait, delay)
                if not self.stop.is_set():
                    self._poll_soon(mailbox)

    def _poll_soon(self, mailbox: Mailbox) -> None:
        task = asyncio.create_task(self._poll(mailbox))
        self.polls.add(task)
        task.add_done_callback(self.polls.discard)

    async def _poll(self, mailbox: Mailbox) -> None:
        try:
            await poll_mailbox(self.ctx, mailbox)
        except Exception as exc:  # the scheduled poll will try again
            log.warning("mailbox %s: poll after IDLE failed: %s", mailbox.name, type(exc).__name__)
