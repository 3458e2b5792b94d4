"""The kopf operator: watches feed the engine's inventory; verdicts go to status, Events and reports.

Pieces, from input to output (the watches and the API client are `socketguard.cluster`'s):

- ``relations``: which objects a change touches (the engine's relation model over raw objects:
  Services by selector, routes by host and destination, ...), so only that part is re-evaluated;
- ``evaluate``: the touched part split into units, each evaluated by one engine run into an
  ``Evaluation`` (findings, wanted conditions, servers, clean objects, resumable Deployments);
- ``verdict``: pure functions from findings to conditions, Events and report results;
- ``deliver``: the condition, Event and resume writes the cluster is missing;
- ``reports``: PolicyReport bookkeeping, written per namespace on its own interval;
- ``shards``: which of a namespace's reports holds which result, so each fits the API server;
- ``writers``: condition upserts, Events, reports, resuming held Deployments, cleanup;
- ``reconciler``: the debounced loop that ties them together (one backoff for every retry);
- ``probes``: optional live probes whose findings join the verdicts;
- ``app``: kopf registry, settings, health and metrics endpoints.
"""
