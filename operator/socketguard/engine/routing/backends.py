"""Service-level backend resolution shared by every router: port, targetPort, selected workloads."""

from __future__ import annotations

from collections.abc import Iterator

from socketguard.engine.inventory import Inventory
from socketguard.engine.models import ARGO_GROUP, POD_TEMPLATE_HASH
from socketguard.engine.models.services import Service, ServicePort
from socketguard.engine.models.workloads import Workload
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.relations import POD_LABEL, TEMPLATE_FROM
from socketguard.engine.routing import Affinity, Backend


class ServiceResolver:
    """Looks up Services and the pod templates they select, caching selections per analysis."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._selected: dict[tuple[str, frozenset[tuple[str, str]]], tuple[ObjectRef, ...]] = {}
        self._rollouts = inventory.has_kind(ARGO_GROUP, "Rollout")

    def selected_workloads(self, namespace: str, selector: dict[str, str] | None) -> tuple[ObjectRef, ...]:
        """Workloads whose pod template labels a Service selector selects (none for no selector)."""
        if not selector:
            return ()
        key = (namespace, frozenset(selector.items()))
        found = self._selected.get(key)
        if found is None:
            found = self._selected[key] = tuple(
                self.inventory.ref_of(w) for w in self._candidates(namespace, selector) if w.selected_by(selector))
        return found

    def _candidates(self, namespace: str, selector: dict[str, str]) -> Iterator[Workload]:
        """The namespace's workloads that may match, in `Inventory.workloads` order.

        Looked up by pod label, not by a scan of the namespace: a namespace of many Services and
        workloads would otherwise cost their product. Argo's pod template hash is left out of the
        lookup (a Rollout's own labels lack it), and a Rollout that takes its template from another
        workload (`workloadRef`) is found through that workload.
        """
        relations = self.inventory.relations
        labels = [(namespace, k, v) for k, v in selector.items() if k != POD_TEMPLATE_HASH]
        if not labels:
            yield from self.inventory.workloads(namespace)
            return
        refs = relations.find(POD_LABEL, labels[0])  # a set of its own
        for label in labels[1:]:
            refs &= relations.find(POD_LABEL, label)
        if self._rollouts:  # only a Rollout takes its template from another workload
            refs.update(*[relations.find(TEMPLATE_FROM, (namespace, ref.kind, ref.name)) for ref in refs])
        for ref in sorted(refs, key=_kind_and_name) if len(refs) > 1 else refs:
            workload = self.inventory.workload(ref.kind, ref.namespace, ref.name)
            if workload is not None:
                yield workload

    def workloads_of(self, namespace: str, name: str) -> tuple[ObjectRef, ...]:
        """The workloads Service `namespace/name` selects (none when there is no such Service)."""
        service = self.inventory.service(namespace, name)
        if service is None:
            return ()
        return self.selected_workloads(self.inventory.ref_of(service).namespace, service.spec.selector)

    def backend(self, host: str, namespace: str, name: str, path: FieldPath, *, weight: int = 100,
                port: int | str | None = None, affinity: tuple[Affinity, ...] = ()) -> Backend:
        """A destination naming Service `namespace/name` and a port number or name (or none)."""
        service = self.inventory.service(namespace, name)
        if service is None:
            return Backend(host=host, path=path, weight=weight, port_number=port if isinstance(port, int) else None)
        return self.service_backend(service, host, path, weight=weight, port=port, affinity=affinity)

    def service_backend(self, service: Service, host: str, path: FieldPath, *, weight: int = 100,
                        port: int | str | None = None, affinity: tuple[Affinity, ...] = ()) -> Backend:
        """`backend` for a destination whose Service the caller has found already."""
        ref = self.inventory.ref_of(service)
        chosen = choose_port(service, port)
        service_affinity = affinity
        if service.spec.session_affinity == "ClientIP":
            service_affinity = (*affinity, Affinity("client-ip", ref, ("spec", "sessionAffinity")))
        return Backend(
            host=host, path=path, weight=weight, service=ref,
            port_number=port if isinstance(port, int) else None,
            service_port=chosen.port if chosen else None,
            service_port_name=chosen.name if chosen else None,
            app_protocol=chosen.app_protocol if chosen else None,
            target_port=chosen.effective_target_port if chosen else None,
            workloads=self.selected_workloads(ref.namespace, service.spec.selector),
            affinity=service_affinity,
        )


def _kind_and_name(ref: ObjectRef) -> tuple[str, str]:
    return ref.kind, ref.name


def choose_port(service: Service, port: int | str | None) -> ServicePort | None:
    """The Service port a route names (number or name); the only port when it names none."""
    if port is None:
        return service.spec.ports[0] if len(service.spec.ports) == 1 else None
    by_number = isinstance(port, int)
    for candidate in service.spec.ports:
        if (candidate.port if by_number else candidate.name) == port:
            return candidate
    return None
