"""arq job functions: open a session, call a package, commit, enqueue the next step.

Every job takes ids, never objects, and is safe to run twice.
"""
from __future__ import annotations

from app.jobs.acknowledge import acknowledge_message
from app.jobs.assign import assign_ticket, check_slas, fill_agent
from app.jobs.email_poll import poll_mailboxes
from app.jobs.inbound import process_inbound, process_inbound_batch
from app.jobs.media import fetch_sms_media
from app.jobs.notify import notify_status_change
from app.jobs.send import send_deliveries, send_delivery
from app.jobs.sweep import sweep

FUNCTIONS = {f.__name__: f for f in (process_inbound, process_inbound_batch, assign_ticket, acknowledge_message,
                                      send_delivery, send_deliveries, sweep, poll_mailboxes, fetch_sms_media, fill_agent,
                                      check_slas, notify_status_change)}
