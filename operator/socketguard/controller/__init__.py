"""The kopf operator: watches feed the engine's inventory; verdicts go to status, Events and reports.

Pieces, from input to output:

- ``feed``: kopf index/event handlers that keep an ``Inventory`` of small views current (the
  webhook reuses it for its own read-only inventory);
- ``relations``: which objects a change touches (the engine's relation model over raw objects:
  Services by selector, routes by host and destination, ...), so only that part is re-evaluated;
- ``verdict``: pure functions from findings to conditions, Events and report results;
- ``kube``: a small asyncio client for the few API calls the writers make;
- ``writers``: condition upserts, Events, reports, resuming held Deployments, cleanup;
- ``reconciler``: the debounced loop that ties them together;
- ``app``: kopf registry, settings, health and metrics endpoints.
"""
