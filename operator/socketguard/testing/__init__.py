"""A real Kubernetes control plane for tests, and helpers to test against any cluster.

Start one (binaries must be provisioned once with ``python -m socketguard.testing build``)::

    from socketguard.testing import ControlPlane

    with ControlPlane() as cluster:
        cluster.kubectl("create", "namespace", "demo")
        operator_kubeconfig = cluster.service_account_kubeconfig("demo", "operator", cluster_roles=["view"])

In pytest, add ``pytest_plugins = ["socketguard.testing.pytest_plugin"]`` to ``conftest.py`` and use
the session-scoped ``control_plane`` fixture (or ``SOCKETGUARD_TEST_KUBECONFIG`` for an existing
cluster). See ``docs/testing.md`` for the environment variables, timings and CLI.
"""

from socketguard.testing.binaries import ProvisionError, Toolset, cache_dir, find_toolset, provision
from socketguard.testing.cluster import Cluster, KubectlError, ServingCertificate, Subject
from socketguard.testing.controlplane import ControlPlane, ControlPlaneError, free_port
from socketguard.testing.waiting import wait_for
from socketguard.testing.webhooks import WebhookConfigError, local_webhook_configuration

__all__ = [
    "Cluster",
    "ControlPlane",
    "ControlPlaneError",
    "KubectlError",
    "ProvisionError",
    "ServingCertificate",
    "Subject",
    "Toolset",
    "WebhookConfigError",
    "cache_dir",
    "find_toolset",
    "free_port",
    "local_webhook_configuration",
    "provision",
    "wait_for",
]
