"""Socket.IO usage in Python syntax trees (python-socketio servers, clients and namespaces)."""

from __future__ import annotations

from functools import cache

from tree_sitter import Language, Node, Query, QueryCursor

from socketguard.inputs.scan.collect import ROOM_KEYS, Collector, text_of, unique_sorted

SERVER_CLASSES = frozenset({"Server", "AsyncServer"})
CLIENT_CLASSES = frozenset({"Client", "AsyncClient", "SimpleClient", "AsyncSimpleClient"})
APP_STACKS = {"ASGIApp": "python-asgi", "WSGIApp": "python"}
SID_NAMES = frozenset({"sid", "session_id", "socket_id"})

_CANDIDATES = """
(call function: (attribute attribute: (identifier) @method)
  (#any-of? @method "on" "emit" "enter_room" "connect" "attach"
                    "Server" "AsyncServer" "Client" "AsyncClient" "SimpleClient" "AsyncSimpleClient"
                    "ASGIApp" "WSGIApp")) @call
(call function: (identifier) @function
  (#any-of? @function "Server" "AsyncServer" "Client" "AsyncClient" "SimpleClient"
                      "AsyncSimpleClient" "ASGIApp" "WSGIApp")) @call
(decorated_definition (decorator (attribute attribute: (identifier) @bare (#eq? @bare "event")))
  definition: (function_definition) @definition) @decorated
(function_definition name: (identifier) @name) @function_definition
(class_definition superclasses: (argument_list) @bases body: (block) @body)
"""
NAMESPACE_BASES = frozenset({"Namespace", "AsyncNamespace", "ClientNamespace", "AsyncClientNamespace"})
_READS = """
(subscript value: (identifier) @object subscript: (string) @property) @read
(call function: (attribute object: (identifier) @object attribute: (identifier) @method)
  arguments: (argument_list . (string) @property) (#eq? @method "get")) @read
(attribute object: (identifier) @object attribute: (identifier) @property) @read
"""


@cache
def _query(language: Language, source: str) -> Query:
    return Query(language, source)


def _matches(language: Language, source: str, node: Node) -> list[dict[str, list[Node]]]:
    return [captures for _, captures in QueryCursor(_query(language, source)).matches(node)]


class PythonExtractor:
    def __init__(self, language: Language, root: Node, out: Collector) -> None:
        self.language = language
        self.root = root
        self.out = out
        self.functions: dict[str, Node | None] = {}
        self.namespace_bodies: list[tuple[int, int]] = []

    def run(self) -> None:
        matches = _matches(self.language, _CANDIDATES, self.root)
        for captures in matches:
            if "function_definition" in captures:
                name = text_of(captures["name"][0])
                self.functions[name] = None if name in self.functions else captures["function_definition"][0]
        for captures in matches:
            if "bases" in captures:
                self._namespace_class(captures["bases"][0], captures["body"][0])
        calls: list[Node] = []
        for captures in matches:
            if "call" in captures:
                name = text_of((captures.get("method") or captures["function"])[0])
                if not self._constructor(captures["call"][0], name):
                    calls.append(captures["call"][0])
        for call in calls:
            self.out.guarded(self._method_call, call)
        for captures in matches:
            if "decorated" in captures:
                self._event_decorator(captures["decorated"][0], captures["definition"][0])

    # --- constructors and options ------------------------------------------------------------

    def _constructor(self, call: Node, name: str) -> bool:
        arguments = call.child_by_field_name("arguments")
        if name in SERVER_CLASSES:
            self.out.roles.add("server")
            self._learn_target(call)
            self._server_options(arguments)
        elif name in CLIENT_CLASSES:
            self.out.roles.add("client")
            self._learn_target(call)
        elif name in APP_STACKS:
            self.out.roles.add("server")
            self.out.option("stack", APP_STACKS[name], call)
            path = _keyword(arguments, "socketio_path")
            if path is not None:
                self.out.option("path", _socketio_path(string_value(path)), path)
        else:
            return False
        return True

    def _learn_target(self, call: Node) -> None:
        parent = call.parent
        if parent is not None and parent.type == "assignment":
            left = parent.child_by_field_name("left")
            name = text_of(left.child_by_field_name("attribute")) if left and left.type == "attribute" \
                else text_of(left)
            self.out.learned_names.add(name)

    def _server_options(self, arguments: Node | None) -> None:
        origins = _keyword(arguments, "cors_allowed_origins")
        if origins is not None:
            value = string_list(origins)
            # python-socketio: [] disables CORS handling; there is no annotation for that.
            if value != "":
                self.out.option("cors-origins", value, origins)
        credentials = _keyword(arguments, "cors_credentials")
        if credentials is not None:
            self.out.option("cors-credentials", _boolean(credentials), credentials)
        transports = _keyword(arguments, "transports")
        if transports is not None:
            self.out.option("transports", string_list(transports), transports)
        for keyword, key in (("ping_interval", "ping-interval"), ("ping_timeout", "ping-timeout")):
            node = _keyword(arguments, keyword)
            if node is not None:
                self.out.option(key, _seconds_to_ms(node), node)

    # --- events ------------------------------------------------------------------------------

    def _method_call(self, call: Node) -> None:
        function = call.child_by_field_name("function")
        if function is None or function.type != "attribute":
            return
        method = text_of(function.child_by_field_name("attribute"))
        receiver = _receiver_name(function.child_by_field_name("object"))
        if receiver == "self":
            if not any(start <= call.start_byte < end for start, end in self.namespace_bodies):
                return
        elif not self.out.is_socket_name(receiver):
            return
        arguments = call.child_by_field_name("arguments")
        args = _positional(arguments)
        if method == "on" and args:
            self._on(call, args)
        elif method == "emit" and args:
            self._emit(call, args, arguments)
        elif method == "enter_room":
            room = args[1] if len(args) > 1 else _keyword(arguments, "room")
            if room is not None:
                self.out.join(string_value(room), room, text_of(room))
        elif method == "connect" and "client" in self.out.roles:
            self._client_connect(arguments, args)
        elif method == "attach":
            self.out.roles.add("server")
            self.out.option("stack", "python", call)
            path = _keyword(arguments, "socketio_path")
            if path is not None:
                self.out.option("path", _socketio_path(string_value(path)), path)

    def _on(self, call: Node, args: list[Node]) -> None:
        event = string_value(args[0])
        if event == "*":
            self.out.note("catch-all handler ('*'): the events it handles are unknown", call)
            event = None
        handler: Node | None = None
        if len(args) > 1:
            handler = self.functions.get(text_of(args[1])) if args[1].type == "identifier" else None
        else:
            handler = _decorated_function(call)
        fields = self.handler_reads(handler) if handler is not None else None
        self.out.listen(event, call, text_of(args[0]), fields)

    def _namespace_class(self, bases: Node, body: Node) -> None:
        """Class-based namespaces: `on_<event>` methods handle events, `self.emit` emits."""
        names = {_receiver_name(base) or text_of(base) for base in bases.named_children}
        if not names & NAMESPACE_BASES:
            return
        self.namespace_bodies.append((body.start_byte, body.end_byte))
        for statement in body.named_children:
            definition = statement.child_by_field_name("definition") \
                if statement.type == "decorated_definition" else statement
            if definition is None or definition.type != "function_definition":
                continue
            name = text_of(definition.child_by_field_name("name"))
            if name.startswith("on_") and len(name) > 3:
                self.out.listen(name[3:], definition, name, self.handler_reads(definition))

    def _event_decorator(self, decorated: Node, definition: Node) -> None:
        decorator = decorated.named_children[0] if decorated.named_children else None
        attribute = _first_named(decorator)
        if attribute is None or not self.out.is_socket_name(
                _receiver_name(attribute.child_by_field_name("object"))):
            return
        name = text_of(definition.child_by_field_name("name"))
        self.out.listen(name, decorated, name, self.handler_reads(definition))

    def _emit(self, call: Node, args: list[Node], arguments: Node | None) -> None:
        event = string_value(args[0])
        payload = args[1] if len(args) > 1 else _keyword(arguments, "data")
        fields = () if payload is None else self.payload_fields(payload)
        self.out.emit(event, call, text_of(args[0]), fields)
        if event in self.out.config.subscribe_events:
            rooms = room_literals(payload) if payload is not None else []
            for room in rooms:
                self.out.request(string_value(room), room, text_of(room))
            if not rooms:
                self.out.request(None, call, text_of(payload) or f"emit({text_of(args[0])})")

    def _client_connect(self, arguments: Node | None, args: list[Node]) -> None:
        url = args[0] if args else _keyword(arguments, "url")
        if url is not None:
            self.out.option("client-url", literal(url), url)
        path = _keyword(arguments, "socketio_path")
        if path is not None:
            self.out.option("client-path", _socketio_path(string_value(path)), path)
        transports = _keyword(arguments, "transports")
        if transports is not None:
            self.out.option("client-transports", string_list(transports), transports)

    # --- payloads ----------------------------------------------------------------------------

    def payload_fields(self, node: Node) -> tuple[str, ...] | None:
        if node.type == "identifier":
            resolved = _local_assignment(node)
            if resolved is None:
                return None
            node = resolved
        if node.type == "dictionary":
            names: list[str] = []
            for child in node.named_children:
                if child.type == "comment":
                    continue
                if child.type != "pair":
                    return None  # a ** splat: fields the scan cannot list
                key = string_value(child.child_by_field_name("key"))
                if key is None:
                    return None
                names.append(key)
            return unique_sorted(names)
        if node.type == "call" and text_of(node.child_by_field_name("function")) == "dict":
            arguments = node.child_by_field_name("arguments")
            children = arguments.named_children if arguments else []
            if any(c.type != "keyword_argument" for c in children):
                return None
            return unique_sorted([text_of(c.child_by_field_name("name")) for c in children])
        return None

    def handler_reads(self, function: Node) -> tuple[str, ...] | None:
        parameters = [p for p in _parameter_names(function) if p not in {"self", "cls"}]
        if not parameters:
            return ()
        payload = parameters[1] if parameters[0] in SID_NAMES and len(parameters) > 1 else parameters[0]
        if payload in SID_NAMES:
            return ()
        body = function.child_by_field_name("body")
        if body is None:
            return ()
        reads: list[str] = []
        for captures in _matches(self.language, _READS, body):
            if text_of(captures["object"][0]) != payload:
                continue
            prop = captures["property"][0]
            read = captures["read"][0]
            if prop.type == "identifier":
                parent = read.parent
                if parent is not None and parent.type == "call" and \
                        parent.child_by_field_name("function") == read:
                    continue  # data.get(...), data.items(): methods, not fields
                reads.append(text_of(prop))
            else:
                value = string_value(prop)
                if value:
                    reads.append(value)
        return unique_sorted(reads)


# --- literals -----------------------------------------------------------------------------------


def string_value(node: Node | None) -> str | None:
    """A string's value; f-strings and `+` give `{placeholder}` patterns."""
    if node is None:
        return None
    if node.type == "string":
        parts: list[str] = []
        for child in node.named_children:
            if child.type == "interpolation":
                parts.append(f"{{{_placeholder(child)}}}")
            elif child.type in {"string_content", "escape_sequence"}:
                parts.append(text_of(child))
        return "".join(parts)
    if node.type == "concatenated_string":
        pieces = [string_value(c) for c in node.named_children]
        return None if any(p is None for p in pieces) else "".join(p for p in pieces if p)
    if node.type == "binary_operator" and text_of(node.child_by_field_name("operator")) == "+":
        left = string_value(node.child_by_field_name("left"))
        right = string_value(node.child_by_field_name("right"))
        if left is None and right is None:
            return None
        lhs = left if left is not None else f"{{{_placeholder(node.child_by_field_name('left'))}}}"
        rhs = right if right is not None else f"{{{_placeholder(node.child_by_field_name('right'))}}}"
        return lhs + rhs
    if node.type == "parenthesized_expression":
        return string_value(_first_named(node))
    return None


def literal(node: Node) -> str | None:
    if node.type != "string" or any(c.type == "interpolation" for c in node.named_children):
        return None
    return string_value(node)


def string_list(node: Node) -> str | None:
    if node.type not in {"list", "tuple"}:
        return literal(node)
    values = [literal(element) for element in node.named_children]
    return None if any(v is None for v in values) else ",".join(v for v in values if v)


def room_literals(node: Node) -> list[Node]:
    """String literals and f-strings in a subscribe payload; values of `room`-like keys win."""
    if node.type == "dictionary":
        pairs = [c for c in node.named_children if c.type == "pair"]
        keyed = [p for p in pairs if string_value(p.child_by_field_name("key")) in ROOM_KEYS]
        return [lit for p in keyed or pairs for lit in room_literals(p.child_by_field_name("value") or p)]
    if node.type in {"list", "tuple"}:
        return [lit for element in node.named_children for lit in room_literals(element)]
    if node.type in {"string", "concatenated_string", "binary_operator"} and string_value(node) is not None:
        return [node]
    return []


def _placeholder(node: Node | None) -> str:
    inner = _first_named(node) if node is not None and node.type == "interpolation" else node
    if inner is None:
        return "value"
    if inner.type == "identifier":
        return text_of(inner)
    if inner.type == "attribute":
        return text_of(inner.child_by_field_name("attribute"))
    if inner.type == "subscript":
        key = string_value(inner.child_by_field_name("subscript"))
        return key or "value"
    return "value"


# --- syntax helpers -----------------------------------------------------------------------------


def _receiver_name(node: Node | None) -> str | None:
    while node is not None and node.type in {"await", "parenthesized_expression"}:
        node = _first_named(node)
    if node is None:
        return None
    if node.type == "identifier":
        return text_of(node)
    if node.type == "attribute":
        return text_of(node.child_by_field_name("attribute"))
    return None


def _first_named(node: Node | None) -> Node | None:
    if node is None:
        return None
    return next((c for c in node.named_children if c.type != "comment"), None)


def _positional(arguments: Node | None) -> list[Node]:
    if arguments is None:
        return []
    return [a for a in arguments.named_children
            if a.type not in {"keyword_argument", "comment", "list_splat", "dictionary_splat"}]


def _keyword(arguments: Node | None, name: str) -> Node | None:
    if arguments is None:
        return None
    for child in arguments.named_children:
        if child.type == "keyword_argument" and text_of(child.child_by_field_name("name")) == name:
            return child.child_by_field_name("value")
    return None


def _boolean(node: Node) -> str | None:
    return {"true": "true", "false": "false"}.get(node.type)


def _seconds_to_ms(node: Node) -> str | None:
    if node.type not in {"integer", "float"}:
        return None
    try:
        return str(round(float(text_of(node)) * 1000))
    except ValueError:
        return None


def _socketio_path(value: str | None) -> str | None:
    """python-socketio strips slashes from `socketio_path` and serves `/<path>`."""
    return None if value is None else "/" + value.strip("/")


def _decorated_function(call: Node) -> Node | None:
    decorator = call.parent
    if decorator is None or decorator.type != "decorator":
        return None
    decorated = decorator.parent
    definition = decorated.child_by_field_name("definition") if decorated is not None else None
    return definition if definition is not None and definition.type == "function_definition" else None


def _parameter_names(function: Node) -> list[str]:
    parameters = function.child_by_field_name("parameters")
    names: list[str] = []
    for child in parameters.named_children if parameters else []:
        if child.type == "identifier":
            names.append(text_of(child))
        elif child.type in {"typed_parameter", "default_parameter", "typed_default_parameter"}:
            name = child.child_by_field_name("name") or _first_named(child)
            names.append(text_of(name))
    return names


def _local_assignment(identifier: Node) -> Node | None:
    """The dict a single `name = {...}` earlier in the enclosing block binds, if any."""
    name = text_of(identifier)
    scope = identifier.parent
    while scope is not None:
        if scope.type in {"block", "module"}:
            for statement in scope.named_children:
                if statement.start_byte >= identifier.start_byte:
                    break
                assignment = _first_named(statement) if statement.type == "expression_statement" else None
                if assignment is not None and assignment.type == "assignment" and \
                        text_of(assignment.child_by_field_name("left")) == name:
                    return assignment.child_by_field_name("right")
        scope = scope.parent
    return None
