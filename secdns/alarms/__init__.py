"""
Alarms on the zones' metrics, and the notifications they send: the pure
part (values, the query language, evaluation, schedules, folding).  What
does I/O -- sampling on the reactor's clock, the store, SMTP and HTTP
deliveries -- is in L{secdns.ops.alarms}.
"""
