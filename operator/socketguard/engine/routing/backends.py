"""Service-level backend resolution shared by every router: port, targetPort, selected workloads."""

from __future__ import annotations

from socketguard.engine.inventory import Inventory
from socketguard.engine.models.services import Service, ServicePort
from socketguard.engine.objects import FieldPath, ObjectRef
from socketguard.engine.routing import Affinity, Backend


class ServiceResolver:
    """Looks up Services and the pod templates they select, caching selections per analysis."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._selected: dict[tuple[str, frozenset[tuple[str, str]]], tuple[ObjectRef, ...]] = {}

    def selected_workloads(self, namespace: str, selector: dict[str, str] | None) -> tuple[ObjectRef, ...]:
        """Workloads whose pod template labels a Service selector selects (none for no selector)."""
        if not selector:
            return ()
        key = (namespace, frozenset(selector.items()))
        found = self._selected.get(key)
        if found is None:
            found = self._selected[key] = tuple(
                self.inventory.ref_of(w) for w in self.inventory.workloads(namespace)
                if w.selected_by(selector))
        return found

    def backend(self, host: str, namespace: str, name: str, path: FieldPath, *, weight: int = 100,
                port: int | str | None = None, affinity: tuple[Affinity, ...] = ()) -> Backend:
        """A destination naming Service `namespace/name` and a port number or name (or none)."""
        service = self.inventory.service(namespace, name)
        if service is None:
            return Backend(host=host, path=path, weight=weight, port_number=port if isinstance(port, int) else None)
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


def choose_port(service: Service, port: int | str | None) -> ServicePort | None:
    """The Service port a route names (number or name); the only port when it names none."""
    if port is None:
        return service.spec.ports[0] if len(service.spec.ports) == 1 else None
    if isinstance(port, int):
        return next((p for p in service.spec.ports if p.port == port), None)
    return next((p for p in service.spec.ports if p.name == port), None)
