"""
Delivery of alarm notifications to the subscriptions of their topics:
L{Deliveries} (queues, folding past 60 a minute, retries, counts), and one
module per job -- C{courier} (one subscription's queue and retries),
C{senders} (one try, by protocol), C{smtp} (email through the C{[smtp]}
relay), C{http} (JSON POSTs for slack, webhook and pagerduty),
C{streamfile} (JSON lines, rotated by size), C{failures} (transient or
permanent).  What they send is rendered by L{secdns.alarms.render}; folding
and backoff are pure, in L{secdns.alarms.fold} and L{secdns.alarms.backoff}.
"""

from secdns.ops.alarms.deliver.deliveries import Counts, Deliveries, Outcome

__all__ = ["Deliveries", "Counts", "Outcome"]
