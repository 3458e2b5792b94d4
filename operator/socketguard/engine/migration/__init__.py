"""Migration checks: does a Socket.IO route behave the same after moving to other routing objects?

`compare(before, after)` routes every handshake of BEFORE (each client's, each socket route's own,
as the trace builds them) through AFTER with the same routers `lint` and `route` use, and each
SG7xx rule module compares one aspect of the two answers (`pair.RoutePair`).
"""
