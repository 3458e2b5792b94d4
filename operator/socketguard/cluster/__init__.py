"""Cluster plumbing that the operator and the admission webhook share.

- ``feed``: kopf handlers that keep an engine ``Inventory`` current from watches;
- ``kube``: a small asyncio client for the few API calls the writers make;
- ``versions``: the newest resourceVersion the inventory applied per kind (what a decision saw);
- ``metrics``: Prometheus metrics and the health endpoints.

Neither front-end imports the other; both import this package.
"""
