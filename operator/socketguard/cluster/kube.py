"""A small asyncio client for the writers: JSON patch, merge patch, create, list, delete.

Credentials come from the ``kubernetes`` package's loaders (in-cluster ServiceAccount or a
kubeconfig), the same ones kopf's ``login_via_client`` uses, so both talk as one identity.
Every mutating call is counted (``socketguard_api_writes_total``) so quietness can be measured.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from socketguard.cluster import metrics
from socketguard.cluster.retry import Backoff
from socketguard.engine.objects import ObjectRef

JSON_PATCH = "application/json-patch+json"
# A list of names and labels only: what a comparison of identities needs, at a fraction of the bytes.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
MERGE_PATCH = "application/merge-patch+json"
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
_ATTEMPTS = 5
PLURALS = {
    "Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
    "Service": "services", "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "VirtualService": "virtualservices", "DestinationRule": "destinationrules", "Gateway": "gateways",
    "Event": "events", "PolicyReport": "policyreports", "Report": "reports",
    "Ingress": "ingresses", "IngressClass": "ingressclasses", "HTTPRoute": "httproutes",
    "ReferenceGrant": "referencegrants",
    "Rollout": "rollouts", "ScaledObject": "scaledobjects",
    "IngressRoute": "ingressroutes", "Middleware": "middlewares",
}


class KubeError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, text: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {text[:300]}")
        self.status = status


PAGE_SIZE = 500  # items per page of a listing: one page is what a reader of a large collection holds

# What a call to the API server can raise: an answer with an error status, or no answer at all.
API_ERRORS: tuple[type[BaseException], ...] = (KubeError, OSError, aiohttp.ClientError, asyncio.TimeoutError)


def transient(error: BaseException) -> bool:
    """Worth retrying: the API server was unreachable, overloaded or just restarted. A freshly
    started API server answers 401/403 until its authorizer caches are filled (measured: the
    first writes after a restart were forbidden by RBAC roles it had not loaded yet), so those
    are retried too, with the backoff. A 404 (object or namespace gone) or 422 will not change
    by asking again; the next change re-evaluates anyway."""
    if isinstance(error, KubeError):
        return error.status >= 500 or error.status in (401, 403, 409, 429)
    return isinstance(error, OSError | aiohttp.ClientError | asyncio.TimeoutError)


def load_configuration(kubeconfig: str | None = None) -> k8s_client.Configuration:
    """In-cluster credentials when running in a pod, else the kubeconfig (``$KUBECONFIG``)."""
    configuration = k8s_client.Configuration()
    try:
        if kubeconfig is None:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return configuration
    except k8s_config.ConfigException:
        pass
    k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, client_configuration=configuration)
    return configuration


def bearer_header(configuration: k8s_client.Configuration) -> str | None:
    """`Bearer <token>` (newer clients keep it under BearerToken; a refresh hook may renew it)."""
    found = configuration.get_api_key_with_prefix("BearerToken") or configuration.get_api_key_with_prefix(
        "authorization")
    return str(found) if found else None


def object_path(ref: ObjectRef, *, subresource: str | None = None, plural: str | None = None) -> str:
    """`/apis/apps/v1/namespaces/ns/deployments/name[/status]` for one object."""
    base = f"/apis/{ref.api_version}" if "/" in ref.api_version else f"/api/{ref.api_version}"
    kind_plural = plural or PLURALS[ref.kind]
    namespace = f"/namespaces/{quote(ref.namespace)}" if ref.namespace else ""
    path = f"{base}{namespace}/{kind_plural}/{quote(ref.name)}"
    return f"{path}/{subresource}" if subresource else path


def collection_path(api_version: str, plural: str, namespace: str | None) -> str:
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    return f"{base}/namespaces/{quote(namespace)}/{plural}" if namespace else f"{base}/{plural}"


class Kube:
    """One aiohttp session against the API server; at most `concurrency` requests in flight."""

    def __init__(self, configuration: k8s_client.Configuration, concurrency: int = 16) -> None:
        self.configuration = configuration
        self._limit = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self) -> ssl.SSLContext | bool:
        conf = self.configuration
        if not conf.verify_ssl:
            return False
        context = ssl.create_default_context(cafile=conf.ssl_ca_cert) if conf.ssl_ca_cert else \
            ssl.create_default_context()
        if conf.cert_file and conf.key_file:
            context.load_cert_chain(conf.cert_file, conf.key_file)
        return context

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl(), limit=64)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                                  timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    def _headers(self, content_type: str | None, accept: str) -> dict[str, str]:
        headers = {"Accept": accept}
        auth = bearer_header(self.configuration)
        if auth:
            headers["Authorization"] = auth
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def request(self, method: str, path: str, *, body: Any = None, content_type: str | None = None,
                      params: Mapping[str, str] | None = None, kind: str = "", accept: str = "application/json") -> Any:
        url = self.configuration.host.rstrip("/") + path + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body)
        headers = self._headers(content_type or ("application/json" if data else None), accept)
        session = await self._get_session()
        backoff = Backoff(first=0.5, cap=8.0)
        for attempt in range(_ATTEMPTS):
            async with self._limit:
                if method != "GET":
                    metrics.API_WRITES.labels(verb=method.lower(), kind=kind or _kind_of(path)).inc()
                async with session.request(method, url, data=data, headers=headers) as response:
                    text = await response.text()
                    status = response.status
            if status < 400:
                return json.loads(text) if text else None
            # The API server asks to come back (429, or 5xx while it restarts): a short wait.
            if status not in _RETRYABLE or attempt == _ATTEMPTS - 1:
                raise KubeError(method, path, status, text)
            await backoff.wait()
        raise AssertionError("unreachable")

    async def get(self, path: str, params: Mapping[str, str] | None = None, accept: str = "application/json") -> Any:
        return await self.request("GET", path, params=params, accept=accept)

    async def list_all(self, path: str, params: Mapping[str, str] | None = None, *,
                       metadata_only: bool = False) -> list[dict[str, Any]]:
        """Every item of a collection, following `continue` tokens (only their metadata, if asked)."""
        return [item async for page in self.pages(path, params, metadata_only=metadata_only) for item in page]

    async def pages(self, path: str, params: Mapping[str, str] | None = None, *,
                    metadata_only: bool = False) -> AsyncIterator[list[dict[str, Any]]]:
        """A collection's items page by page: a caller that keeps little of each holds one page."""
        query = dict(params or {}, limit=str(PAGE_SIZE))
        while True:
            page = await self.get(path, query, METADATA_ONLY if metadata_only else "application/json")
            yield page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            query["continue"] = token

    async def served_version(self, group: str, version: str | None = None) -> str | None:
        """`group/version` to call the API with: `version` when given, else the group's preferred
        one; None when the API server does not serve the group (its CRDs are not installed)."""
        if version is not None:
            return f"{group}/{version}" if group else version
        try:
            found = await self.get(f"/apis/{group}")
        except KubeError as error:
            if error.status == 404:
                return None
            raise
        preferred = (found or {}).get("preferredVersion") or {}
        served = preferred.get("groupVersion")
        return str(served) if served else None

    async def json_patch(self, path: str, operations: list[dict[str, Any]], kind: str = "") -> Any:
        return await self.request("PATCH", path, body=operations, content_type=JSON_PATCH, kind=kind)

    async def merge_patch(self, path: str, patch: Mapping[str, Any], kind: str = "") -> Any:
        return await self.request("PATCH", path, body=patch, content_type=MERGE_PATCH, kind=kind)

    async def create(self, path: str, body: Mapping[str, Any], kind: str = "") -> Any:
        return await self.request("POST", path, body=body, kind=kind)

    async def delete(self, path: str, kind: str = "") -> Any:
        return await self.request("DELETE", path, kind=kind)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _kind_of(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    for plural in reversed(parts):
        for kind, known in PLURALS.items():
            if plural == known:
                return kind
    return "other"
