"""The annotation contract: every value validated, every problem located (SG001/SG002)."""

from __future__ import annotations

from typing import Any

import pytest

from socketguard.engine.contract import ContractIssue, ContractSet, read_contracts
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef, render_path

P = "socketguard.io/"
REF = ObjectRef("apps/v1", "Deployment", "web", "chat")
ENV_PATH = "spec.template.spec.containers[0].env[?(@.name=='SOCKET_IO_PATH')].value"


def deployment(
    annotations: dict[str, str] | None = None,
    *,
    template_annotations: dict[str, str] | None = None,
    env: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "chat", "image": "example/chat:1", "ports": [
        {"name": "http", "containerPort": 3000}]}
    if env is not None:
        container["env"] = env
    template_meta: dict[str, Any] = {"labels": {"app": "chat"}}
    if template_annotations is not None:
        template_meta["annotations"] = template_annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "chat", "namespace": "web", "annotations": annotations or {}},
        "spec": {
            "selector": {"matchLabels": {"app": "chat"}},
            "template": {"metadata": template_meta, "spec": {"containers": [container]}},
        },
    }


def contracts(annotations: dict[str, str] | None = None, **kwargs: Any) -> ContractSet:
    inventory = Inventory()
    inventory.add(deployment(annotations, **kwargs))
    return read_contracts(inventory)


def issues(result: ContractSet, code: str | None = None) -> list[ContractIssue]:
    return [i for i in result.issues if code is None or i.code == code]


def where(issue: ContractIssue) -> str:
    return render_path(issue.path)


# -- bad values --------------------------------------------------------------------------------

BAD_VALUES: list[tuple[str, str, dict[str, str]]] = [
    ("role", "backend", {}),
    ("role", "server;client", {}),
    ("path", "socket.io", {}),
    ("path", "/socket.io?EIO=4", {}),
    ("path", "/socket io", {}),
    ("port", "0", {}),
    ("port", "70000", {}),
    ("port", "HTTP", {}),
    ("port", "-http", {}),
    ("port", "a-very-long-port-name", {}),
    ("stack", "nodejs", {}),
    ("stack", "python-wsgi", {}),
    ("add-trailing-slash", "yes", {}),
    ("cors-origins", "adverant.ai", {}),
    ("cors-origins", "https://adverant.ai/app", {}),
    ("cors-origins", "https://adverant.ai,ftp://adverant.ai", {}),
    ("cors-origins", "true", {}),
    ("cors-credentials", "1", {}),
    ("transports", "polling,websockets", {}),
    ("transports", ",", {}),
    ("transports", "", {}),
    ("ping-interval", "25s", {}),
    ("ping-interval", "0", {}),
    ("ping-timeout", "-1", {}),
    ("ping-timeout", "2.5", {}),
    ("adapter", "rabbitmq", {}),
    ("namespaces", "admin", {}),
    ("probe", "on", {}),
    ("enforce", "deny", {}),
    ("ignore", "SG10", {}),
    ("ignore", "path-mismatch", {}),
    ("client-url", "adverant.ai", {"role": "client"}),
    ("client-url", "ftp://adverant.ai", {"role": "client"}),
    ("client-url", "https://adverant.ai:99999", {"role": "client"}),
    ("client-url", "https://", {"role": "client"}),
    ("client-path", "mageagent/socket.io", {"role": "client"}),
    ("client-origin", "adverant.ai", {"role": "client"}),
    ("client-origin", "https://adverant.ai/dashboard", {"role": "client"}),
    ("client-credentials", "yes", {"role": "client"}),
    ("client-transports", "long-polling", {"role": "server,client"}),
    ("client-server", "a/b/c", {"role": "client"}),
    ("client-server", "web/", {"role": "client"}),
]


@pytest.mark.parametrize(("key", "value", "others"), BAD_VALUES, ids=[f"{k}={v!r}" for k, v, _ in BAD_VALUES])
def test_bad_value_is_sg001_naming_annotation_value_and_expectation(
    key: str, value: str, others: dict[str, str]
) -> None:
    annotations = {f"{P}{k}": v for k, v in others.items()} | {f"{P}{key}": value}
    found = [i for i in issues(contracts(annotations)) if where(i) == f"metadata.annotations['{P}{key}']"]
    assert len(found) == 1, issues(contracts(annotations))
    issue = found[0]
    assert issue.code == "SG001"
    assert issue.subject == REF
    assert not issue.warning
    assert f"{P}{key}" in issue.message
    assert repr(value) in issue.message
    assert "expected" in issue.message
    assert issue.fixes


GOOD_VALUES: list[tuple[str, str]] = [
    ("role", "Server, Client"),
    ("path", "/mageagent/socket.io/"),
    ("port", "8080"),
    ("port", "http-socket"),
    ("stack", "python-asgi"),
    ("add-trailing-slash", "false"),
    ("cors-origins", "https://adverant.ai, https://www.adverant.ai"),
    ("cors-origins", "http://localhost:3000"),
    ("cors-origins", "*"),
    ("cors-origins", "reflect"),
    ("cors-credentials", "TRUE"),
    ("transports", "websocket"),
    ("ping-interval", " 25000 "),
    ("adapter", "redis-streams"),
    ("namespaces", "/,/admin"),
    ("enforce", "hold"),
    ("ignore", "sg102, SG302"),
    ("emits", "agent_stream,orchestration_update"),
    ("rooms", "task:{taskId}"),
    ("held", "SG102 on 2026-01-01"),
]


@pytest.mark.parametrize(("key", "value"), GOOD_VALUES, ids=[f"{k}={v!r}" for k, v in GOOD_VALUES])
def test_good_value_is_accepted(key: str, value: str) -> None:
    assert issues(contracts({f"{P}role": "server", f"{P}{key}": value} if key != "role" else {f"{P}role": value})) == []


def test_values_are_parsed_into_the_server_spec() -> None:
    server = contracts({
        f"{P}path": "/mageagent/socket.io/", f"{P}port": "8080", f"{P}stack": "Python-ASGI",
        f"{P}cors-origins": "https://adverant.ai, https://www.adverant.ai", f"{P}transports": "websocket",
        f"{P}ping-interval": "10000", f"{P}ping-timeout": "60000", f"{P}adapter": "redis",
        f"{P}namespaces": "/,/admin", f"{P}add-trailing-slash": "false", f"{P}probe": "true",
    }).servers[REF]
    assert server.path == "/mageagent/socket.io"
    assert server.port == 8080
    assert server.stack == "python-asgi"
    assert server.cors_origins == ("https://adverant.ai", "https://www.adverant.ai")
    assert server.cors_credentials is True  # python-socketio's default
    assert server.transports == frozenset({"websocket"})
    assert (server.ping_interval_ms, server.ping_timeout_ms) == (10000, 60000)
    assert server.adapter == "redis"
    assert server.namespaces == ("/", "/admin")
    assert server.add_trailing_slash is False
    assert server.probe is True
    assert not server.inferred
    assert render_path(server.sources["path"]) == f"metadata.annotations['{P}path']"


def test_a_bad_value_falls_back_to_the_default_and_keeps_the_rest() -> None:
    result = contracts({f"{P}stack": "nodejs", f"{P}path": "/chat/socket.io", f"{P}ping-timeout": "soon"})
    server = result.servers[REF]
    assert (server.stack, server.path, server.ping_timeout_ms) == ("node", "/chat/socket.io", 20000)
    assert len(issues(result, "SG001")) == 2


def test_node_credentials_default_to_false() -> None:
    assert contracts({f"{P}cors-origins": "*"}).servers[REF].cors_credentials is False


# -- keys --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typo", "meant"), [
    ("cors-origin", "cors-origins"),
    ("pingInterval", "ping-interval"),
    ("client-uri", "client-url"),
    ("transport", "transports"),
])
def test_unknown_key_suggests_the_closest_known_key(typo: str, meant: str) -> None:
    result = contracts({f"{P}role": "server", f"{P}{typo}": "x"})
    [issue] = issues(result)
    assert issue.code == "SG001"
    assert where(issue) == f"metadata.annotations['{P}{typo}']"
    assert f"unknown annotation `{P}{typo}`" in issue.message
    assert issue.fixes == (f"did you mean `{P}{meant}`?",)


def test_unknown_key_without_a_close_match_points_at_the_docs() -> None:
    [issue] = issues(contracts({f"{P}zzzzzz": "1"}))
    assert "docs/annotations.md" in issue.fixes[0]


def test_other_prefixes_are_never_reported() -> None:
    result = contracts({"prometheus.io/scrape": "true", "socketguard.io.example/path": "x",
                        "example.com/socketguard.io/path": "x", f"{P}path": "/socket.io"})
    assert issues(result) == []


# -- workload vs pod template ------------------------------------------------------------------

def test_template_disagreeing_with_workload_is_located_at_the_template() -> None:
    result = contracts({f"{P}path": "/chat/socket.io"}, template_annotations={f"{P}path": "/socket.io"})
    [issue] = issues(result)
    assert issue.code == "SG001"
    assert where(issue) == f"spec.template.metadata.annotations['{P}path']"
    assert "'/socket.io'" in issue.message and "'/chat/socket.io'" in issue.message
    assert result.servers[REF].path == "/chat/socket.io"


def test_template_agreeing_with_workload_is_fine() -> None:
    result = contracts({f"{P}path": "/chat/socket.io"}, template_annotations={f"{P}path": "/chat/socket.io"})
    assert issues(result) == []


def test_template_only_annotations_count() -> None:
    result = contracts(None, template_annotations={f"{P}role": "server", f"{P}path": "/chat/socket.io"})
    assert issues(result) == []
    server = result.servers[REF]
    assert server.path == "/chat/socket.io"
    assert render_path(server.sources["path"]) == f"spec.template.metadata.annotations['{P}path']"


# -- roles -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("annotations", "roles"), [
    ({}, set()),
    ({"ignore": "SG302"}, set()),
    ({"role": "server"}, {"server"}),
    ({"path": "/socket.io"}, {"server"}),
    ({"emits": "a,b"}, {"server"}),
    ({"client-url": "https://adverant.ai"}, {"client"}),
    ({"client-url": "https://adverant.ai", "listens": "a"}, {"client"}),
    ({"role": "client"}, {"client"}),
    ({"role": "server,client"}, {"server", "client"}),
    ({"role": "client,server"}, {"server", "client"}),
    ({"path": "/socket.io", "client-origin": "https://adverant.ai"}, {"server", "client"}),
])
def test_roles(annotations: dict[str, str], roles: set[str]) -> None:
    result = contracts({f"{P}{k}": v for k, v in annotations.items()})
    assert issues(result) == []
    assert {r for r in ("server", "client") if (REF in (result.servers if r == "server" else result.clients))} == roles


def test_server_key_on_a_pure_client_is_sg001() -> None:
    result = contracts({f"{P}role": "client", f"{P}cors-origins": "*"})
    [issue] = issues(result)
    assert where(issue) == f"metadata.annotations['{P}cors-origins']"
    assert "role is client" in issue.message
    assert REF not in result.servers


def test_client_key_on_a_pure_server_is_sg001() -> None:
    result = contracts({f"{P}role": "server", f"{P}client-url": "https://adverant.ai"})
    [issue] = issues(result)
    assert where(issue) == f"metadata.annotations['{P}client-url']"
    assert "role is server" in issue.message
    assert REF not in result.clients


def test_invalid_role_falls_back_to_the_keys() -> None:
    result = contracts({f"{P}role": "backend", f"{P}path": "/socket.io"})
    assert [where(i) for i in issues(result)] == [f"metadata.annotations['{P}role']"]
    assert REF in result.servers


# -- clients -----------------------------------------------------------------------------------

def test_pure_client_may_use_the_unprefixed_keys() -> None:
    client = contracts({
        f"{P}role": "client", f"{P}client-url": "https://adverant.ai", f"{P}client-path": "/mageagent/socket.io/",
        f"{P}client-origin": "https://adverant.ai/", f"{P}client-credentials": "true",
        f"{P}listens": "agent:spawned,task:complete", f"{P}emits": "subscribe", f"{P}rooms": "task:{taskId}",
        f"{P}transports": "websocket",
    }).clients[REF]
    assert client.url == "https://adverant.ai"
    assert client.path == "/mageagent/socket.io"
    assert client.origin == "https://adverant.ai"
    assert client.credentials is True
    assert client.events.listens == frozenset({"agent:spawned", "task:complete"})
    assert client.events.emits == frozenset({"subscribe"})
    assert client.events.rooms == ("task:{taskId}",)
    assert client.transports == frozenset({"websocket"})


def test_server_and_client_keep_their_own_events() -> None:
    result = contracts({
        f"{P}role": "server,client", f"{P}emits": "agent_stream", f"{P}client-listens": "agent:spawned",
        f"{P}transports": "polling", f"{P}client-transports": "websocket",
    })
    server, client = result.servers[REF], result.clients[REF]
    assert server.events.emits == frozenset({"agent_stream"})
    assert client.events.listens == frozenset({"agent:spawned"})
    assert client.events.emits is None
    assert (server.transports, client.transports) == (frozenset({"polling"}), frozenset({"websocket"}))


def test_client_defaults() -> None:
    client = contracts({f"{P}role": "client"}).clients[REF]
    assert (client.url, client.path, client.origin, client.credentials, client.server) == (
        None, "/socket.io", None, False, None)
    assert client.events.listens is None


def test_client_server_pins_the_pairing() -> None:
    result = contracts({f"{P}role": "client", f"{P}client-server": "mageagent/mageagent"})
    assert result.clients[REF].server == ObjectRef("apps/v1", "Deployment", "mageagent", "mageagent")
    result = contracts({f"{P}role": "client", f"{P}client-server": "chat"})
    assert result.clients[REF].server == ObjectRef("apps/v1", "Deployment", "web", "chat")


# -- *-from references -------------------------------------------------------------------------

def test_path_from_reads_an_env_var_value() -> None:
    result = contracts({f"{P}path-from": ENV_PATH},
                       env=[{"name": "NODE_ENV", "value": "production"},
                            {"name": "SOCKET_IO_PATH", "value": "/mageagent/socket.io"}])
    assert issues(result) == []
    server = result.servers[REF]
    assert server.path == "/mageagent/socket.io"
    assert render_path(server.sources["path"]) == f"metadata.annotations['{P}path-from']"


def test_path_from_a_configmap_is_a_located_sg002_warning() -> None:
    result = contracts({f"{P}path-from": ENV_PATH}, env=[
        {"name": "SOCKET_IO_PATH", "valueFrom": {"configMapKeyRef": {"name": "mageagent", "key": "path"}}}])
    [issue] = issues(result)
    assert (issue.code, issue.warning) == ("SG002", True)
    assert where(issue) == f"metadata.annotations['{P}path-from']"
    assert "ConfigMap" in issue.message
    assert any(f"{P}path`" in fix for fix in issue.fixes)
    assert result.servers[REF].path == "/socket.io"


def test_client_url_from_a_secret_names_client_url() -> None:
    result = contracts({f"{P}role": "client", f"{P}client-url-from":
                        "spec.template.spec.containers[0].env[?(@.name=='WS_URL')].value"},
                       env=[{"name": "WS_URL", "valueFrom": {"secretKeyRef": {"name": "s", "key": "url"}}}])
    [issue] = issues(result)
    assert (issue.code, issue.warning) == ("SG002", True)
    assert any(f"{P}client-url`" in fix for fix in issue.fixes)
    assert "path" not in issue.message.replace("path-from", "")


def test_client_url_from_an_env_var() -> None:
    result = contracts({f"{P}role": "client", f"{P}client-url-from":
                        "spec.template.spec.containers[0].env[?(@.name=='NEXT_PUBLIC_WS_URL')].value"},
                       env=[{"name": "NEXT_PUBLIC_WS_URL", "value": "wss://adverant.ai"}])
    assert issues(result) == []
    assert result.clients[REF].url == "wss://adverant.ai"


def test_jsonpath_selecting_nothing_is_sg002_error() -> None:
    result = contracts({f"{P}path-from": ENV_PATH}, env=[{"name": "SOCKETIO_PATH", "value": "/chat/socket.io"}])
    [issue] = issues(result)
    assert (issue.code, issue.warning) == ("SG002", False)
    assert where(issue) == f"metadata.annotations['{P}path-from']"
    assert "selects nothing" in issue.message
    assert result.servers[REF].path == "/socket.io"


@pytest.mark.parametrize(("expression", "fragment"), [
    ("spec.template.spec.containers[0].ports[0].containerPort", "selects a number"),
    ("spec.template.spec.containers[0].ports[0]", "selects a mapping"),
    ("$..name", "selects 3 values"),
])
def test_jsonpath_selecting_no_single_string_is_sg002_error(expression: str, fragment: str) -> None:
    [issue] = issues(contracts({f"{P}path-from": expression}))
    assert (issue.code, issue.warning) == ("SG002", False)
    assert fragment in issue.message


def test_jsonpath_selecting_an_invalid_value_is_sg002() -> None:
    [issue] = issues(contracts({f"{P}path-from": ENV_PATH}, env=[{"name": "SOCKET_IO_PATH", "value": "socket.io"}]))
    assert issue.code == "SG002"
    assert "'socket.io'" in issue.message


@pytest.mark.parametrize("expression", [
    "spec.template.spec.containers[0].env[?(@.name=='SOCKET_IO_PATH'].value",
    "spec..[[",
    "$.spec.template.spec.containers[",
])
def test_invalid_jsonpath_is_sg001(expression: str) -> None:
    [issue] = issues(contracts({f"{P}path-from": expression}))
    assert issue.code == "SG001"
    assert where(issue) == f"metadata.annotations['{P}path-from']"
    assert "not a valid JSONPath" in issue.message


def test_path_and_path_from_together_is_sg001() -> None:
    result = contracts({f"{P}path": "/a/socket.io", f"{P}path-from": ENV_PATH},
                       env=[{"name": "SOCKET_IO_PATH", "value": "/b/socket.io"}])
    [issue] = issues(result)
    assert issue.code == "SG001"
    assert where(issue) == f"metadata.annotations['{P}path-from']"
    assert result.servers[REF].path == "/a/socket.io"


def test_every_workload_kind_carries_contracts() -> None:
    inventory = Inventory()
    for kind in ("Deployment", "StatefulSet", "DaemonSet"):
        obj = deployment({f"{P}path": "/socket.io"})
        obj["kind"] = kind
        inventory.add(obj)
    assert {ref.kind for ref in read_contracts(inventory).servers} == {"Deployment", "StatefulSet", "DaemonSet"}


# -- workloads stamped from one template ---------------------------------------------------------

def _stamped(namespaces: list[str], annotations: dict[str, str], **kwargs: Any) -> ContractSet:
    """One Deployment with the same annotations in each namespace."""
    inventory = Inventory()
    for namespace in namespaces:
        raw = deployment(dict(annotations), **kwargs)
        raw["metadata"]["namespace"] = namespace
        inventory.add(raw)
    return read_contracts(inventory)


def test_same_annotations_in_two_namespaces_give_each_workload_its_own_spec_and_issues() -> None:
    result = _stamped(["a", "b"], {f"{P}path": "/ws", f"{P}stack": "java", f"{P}colour": "red"})
    refs = [REF._replace(namespace=namespace) for namespace in ("a", "b")]
    assert list(result.servers) == refs
    assert [spec.workload for spec in result.servers.values()] == refs
    assert {spec.path for spec in result.servers.values()} == {"/ws"}
    assert [(i.subject, where(i), i.message) for i in result.issues] == [
        (ref, where(issue), issue.message) for ref in refs for issue in result.issues[:2]]
    assert len(result.issues) == 4


def test_a_pinned_server_without_namespace_is_in_each_clients_own_namespace() -> None:
    result = _stamped(["a", "b"], {f"{P}role": "client", f"{P}client-server": "chat"})
    assert [(client.workload.namespace, client.server and client.server.namespace)
            for client in result.clients.values()] == [("a", "a"), ("b", "b")]


def test_path_from_is_read_from_each_workload() -> None:
    inventory = Inventory()
    for namespace, path in (("a", "/one"), ("b", "/two")):
        raw = deployment({f"{P}path-from": ENV_PATH}, env=[{"name": "SOCKET_IO_PATH", "value": path}])
        raw["metadata"]["namespace"] = namespace
        inventory.add(raw)
    assert [spec.path for spec in read_contracts(inventory).servers.values()] == ["/one", "/two"]
