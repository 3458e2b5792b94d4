"""SocketGuard: keeps Socket.IO and WebSocket routes on Kubernetes honest.

The engine (``inventory``, ``contract``, ``routing``, ``trace``, ``rules``, ``engine``) is pure:
dicts in, typed findings out. The front-ends (``cli``, ``controller``, ``webhook``, ``probe``)
gather objects and deliver findings.
"""

__version__ = "0.1.0"
ANNOTATION_PREFIX = "socketguard.io/"
