"""
Alarms and notifications, the part that does I/O: the engine that samples
the zones on the reactor's clock and keeps its state in the store
(L{secdns.ops.alarms.engine}), and the deliveries (SMTP, HTTP, files, the
log).  The pure part -- values, the query language, evaluation -- is in
L{secdns.alarms}.
"""
