"""The admission webhook: reviews a change against a watch-fed inventory, acts on what it introduces.

- ``modes``: enforce > hold > warn > audit > off, from the namespace label and the object's annotation;
- ``review``: AdmissionReview v1 parsing and response building (never raises on bad input);
- ``admission``: the pure core: request + inventory + mode -> decision (allow, deny, warnings, patch);
- ``server``: the aiohttp HTTPS server (fixed paths, readiness, metrics, certificate reload);
- ``runtime``: the standalone kopf watch that feeds the inventory, and the server, in one loop.
"""
