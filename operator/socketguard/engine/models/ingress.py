"""networking.k8s.io/v1 Ingress, read with ingress-nginx's annotations."""

from typing import Literal

from pydantic import Field

from socketguard.engine.models import NGINX_PREFIX
from socketguard.engine.models.base import KubeObject, View, empty_list

LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


class ServiceBackendPort(View):
    number: int | None = None
    name: str | None = None

    @property
    def reference(self) -> int | str | None:
        """The Service port this names: its number, else its name (None: neither is set)."""
        return self.number if self.number is not None else self.name


class IngressServiceBackend(View):
    name: str
    port: ServiceBackendPort = Field(default_factory=ServiceBackendPort)


class IngressBackend(View):
    service: IngressServiceBackend | None = None
    resource: dict[str, object] | None = None


class HTTPIngressPath(View):
    path: str = "/"
    path_type: Literal["Exact", "Prefix", "ImplementationSpecific"] = "ImplementationSpecific"
    backend: IngressBackend


class HTTPIngressRuleValue(View):
    paths: list[HTTPIngressPath] = Field(default_factory=empty_list)


class IngressRule(View):
    host: str | None = None
    http: HTTPIngressRuleValue | None = None


class IngressTLS(View):
    hosts: list[str] = Field(default_factory=empty_list)
    secret_name: str | None = None


class IngressSpec(View):
    ingress_class_name: str | None = None
    default_backend: IngressBackend | None = None
    rules: list[IngressRule] = Field(default_factory=empty_list)
    tls: list[IngressTLS] = Field(default_factory=empty_list)


class Ingress(KubeObject):
    spec: IngressSpec = Field(default_factory=IngressSpec)

    @property
    def ingress_class(self) -> str | None:
        return self.spec.ingress_class_name or self.metadata.annotations.get(LEGACY_CLASS_ANNOTATION)

    def nginx(self, key: str) -> str | None:
        """An ingress-nginx annotation value (`rewrite-target`, `use-regex`, ...)."""
        return self.metadata.annotations.get(NGINX_PREFIX + key)
