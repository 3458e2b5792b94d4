"""Socket.IO usage in JavaScript and TypeScript syntax trees (socket.io 4 and socket.io-client)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from tree_sitter import Language, Node, Query, QueryCursor

from socketguard.inputs.scan.collect import ROOM_KEYS, Collector, text_of, unique_sorted

SERVER_MODULE = "socket.io"
CLIENT_MODULE = "socket.io-client"
SERVER_CONSTRUCTORS = frozenset({"Server", "SocketIOServer", "SocketServer", "IOServer"})
# `io.to(room).emit`, `socket.broadcast.emit`: these narrow the audience, not the event.
AUDIENCE_CALLS = frozenset({"to", "in", "except", "of", "compress", "timeout"})
AUDIENCE_PROPERTIES = frozenset({"broadcast", "volatile", "local"})
WRAPPERS = frozenset({"parenthesized_expression", "non_null_expression", "as_expression",
                      "await_expression", "satisfies_expression", "type_assertion"})
FUNCTION_TYPES = frozenset({"arrow_function", "function_expression", "function",
                            "function_declaration", "method_definition"})
STRING_TYPES = frozenset({"string", "template_string", "binary_expression"})

_CANDIDATES = """
(call_expression function: (member_expression property: (property_identifier) @method)
  (#any-of? @method "on" "once" "addListener" "emit" "emitWithAck" "join" "socketsJoin"
                    "onAny" "prependAny" "connect")) @call
(call_expression function: (identifier) @function (#any-of? @function "io" "connect" "require")) @call
(new_expression) @new
(call_expression function: (call_expression function: (identifier) @require (#eq? @require "require")
  arguments: (arguments . (string) @module))) @factory
(import_statement source: (string) @source) @import
"""
_PLAIN_CALLS = "(call_expression function: (identifier) @function) @call"
_CONSTANTS = """
(variable_declarator name: (identifier) @name value: (string) @value)
(variable_declarator name: (identifier) @object
  value: (object (pair key: (property_identifier) @key value: (string) @value)))
"""
_MEMBER_READS = """
(member_expression object: (identifier) @object property: (property_identifier) @property) @read
(subscript_expression object: (identifier) @object index: (string) @property) @read
(variable_declarator name: (object_pattern) @pattern value: (identifier) @object)
"""
_FUNCTIONS = """
(function_declaration name: (identifier) @name) @function
(method_definition name: (property_identifier) @name) @function
(variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)] @function)
"""
# Class fields holding arrow functions: the node is named differently in the two grammars.
_FIELD_FUNCTIONS = {
    "public_field_definition": """(public_field_definition name: (property_identifier) @name
  value: [(arrow_function) (function_expression)] @function)""",
    "field_definition": """(field_definition property: (property_identifier) @name
  value: [(arrow_function) (function_expression)] @function)""",
}


@cache
def _query(language: Language, source: str) -> Query:
    return Query(language, source)


def _matches(language: Language, source: str, node: Node) -> list[dict[str, list[Node]]]:
    return [captures for _, captures in QueryCursor(_query(language, source)).matches(node)]


class JavaScriptExtractor:
    """One file: imports and constructors first (they name the sockets), then calls in order."""

    def __init__(self, language: Language, root: Node, out: Collector) -> None:
        self.language = language
        self.root = root
        self.out = out
        self.constants = self._constants()
        self.server_constructors = set(SERVER_CONSTRUCTORS)
        self.client_factories = {"io"}
        self._functions: dict[str, Node | None] | None = None

    def run(self) -> None:
        matches = _matches(self.language, _CANDIDATES, self.root)
        for captures in matches:
            if "import" in captures:
                self._import(captures["source"][0])
        for captures in matches:
            if "new" in captures:
                self._new(captures["new"][0])
            elif "function" in captures:
                self._plain_call(captures["call"][0], text_of(captures["function"][0]))
            elif "factory" in captures and self.string_value(captures["module"][0]) == SERVER_MODULE:
                factory = captures["factory"][0]  # require('socket.io')(httpServer, {...})
                self._server_options(factory.child_by_field_name("arguments"))
                self._learn_assignment_target(factory)
        self._aliased_client_calls()
        calls = [c["call"][0] for c in matches if "method" in c]
        for call in calls:
            self.out.guarded(self._learn_connection_parameter, call)
        for call in calls:
            self.out.guarded(self._method_call, call)

    # --- who is a socket -------------------------------------------------------------------

    def _import(self, source: Node) -> None:
        module = self.string_value(source)
        statement = source.parent
        if module == SERVER_MODULE:
            self.out.roles.add("server")
            for specifier in _descendants(statement, "import_specifier"):
                if text_of(specifier.child_by_field_name("name")) == "Server":
                    alias = specifier.child_by_field_name("alias")
                    self.server_constructors.add(text_of(alias) if alias else "Server")
        elif module == CLIENT_MODULE:
            self.out.roles.add("client")
            clause = next((c for c in statement.named_children if c.type == "import_clause"), None) \
                if statement is not None else None
            default = _first_named(clause)
            if default is not None and default.type == "identifier":
                self.client_factories.add(text_of(default))  # import io from 'socket.io-client'
            for specifier in _descendants(statement, "import_specifier"):
                alias = specifier.child_by_field_name("alias")
                if alias is not None and text_of(specifier.child_by_field_name("name")) in {"io", "connect"}:
                    self.client_factories.add(text_of(alias))
        else:
            for specifier in _descendants(statement, "import_specifier"):
                local = specifier.child_by_field_name("alias") or specifier.child_by_field_name("name")
                # `import { Server } from 'ws'`: that Server is not Socket.IO's.
                self.server_constructors.discard(text_of(local))

    def _aliased_client_calls(self) -> None:
        """`io()` under another name: only looked for when an import renamed it."""
        aliases = self.client_factories - {"io"}
        if not aliases:
            return
        for captures in _matches(self.language, _PLAIN_CALLS, self.root):
            if text_of(captures["function"][0]) in aliases:
                self._client_options(captures["call"][0].child_by_field_name("arguments"))
                self._learn_assignment_target(captures["call"][0])

    def _new(self, node: Node) -> None:
        constructor = node.child_by_field_name("constructor")
        name = _last_name(constructor)
        if name in self.server_constructors:
            self._server_options(node.child_by_field_name("arguments"))
            self._learn_assignment_target(node)
        elif name == "Manager":
            self._client_options(node.child_by_field_name("arguments"))

    def _plain_call(self, call: Node, function: str) -> None:
        arguments = call.child_by_field_name("arguments")
        if function == "require" and arguments is not None:
            module = self.string_value(_first_named(arguments))
            if module == SERVER_MODULE:
                self.out.roles.add("server")
            elif module == CLIENT_MODULE:
                self.out.roles.add("client")
                declarator = _unwrap_up(call)
                if declarator is not None and declarator.type == "variable_declarator":
                    name = declarator.child_by_field_name("name")
                    if name is not None and name.type == "identifier":
                        self.client_factories.add(text_of(name))
        elif function == "io" or (function == "connect" and "client" in self.out.roles):
            self._client_options(arguments)
            self._learn_assignment_target(call)

    def _learn_assignment_target(self, node: Node) -> None:
        parent = _unwrap_up(node)
        if parent is None:
            return
        if parent.type == "variable_declarator":
            self.out.learned_names.add(_last_name(parent.child_by_field_name("name")) or "")
        elif parent.type == "assignment_expression":
            self.out.learned_names.add(_last_name(parent.child_by_field_name("left")) or "")
        elif parent.type in {"public_field_definition", "field_definition"}:  # class Feed { conn = io() }
            target = parent.child_by_field_name("name") or parent.child_by_field_name("property")
            self.out.learned_names.add(text_of(target))

    def _learn_connection_parameter(self, call: Node) -> None:
        method, receiver, args = _method_parts(call)
        if method != "on" or not args:
            return
        event = self.string_value(args[0])
        if event not in {"connection", "connect"} or len(args) < 2:
            return
        if not self.out.is_socket_name(self.receiver_name(receiver)):
            return
        if event == "connection":
            self.out.roles.add("server")
            parameter = _first_parameter(args[1])
            if parameter is not None and parameter.type == "identifier":
                self.out.learned_names.add(text_of(parameter))

    def receiver_name(self, node: Node | None) -> str | None:
        """`this.io.to(room)` -> "io"; None for a socket's Manager (`socket.io`) or anything else."""
        while node is not None:
            if node.type == "identifier":
                return text_of(node)
            if node.type in WRAPPERS:
                node = _first_named(node)
            elif node.type == "member_expression":
                prop = text_of(node.child_by_field_name("property"))
                target = node.child_by_field_name("object")
                if prop in AUDIENCE_PROPERTIES:
                    node = target
                    continue
                if prop == "io" and self.out.is_socket_name(self.receiver_name(target)):
                    return None
                return prop
            elif node.type == "call_expression":
                function = node.child_by_field_name("function")
                if function is None or function.type != "member_expression":
                    return None
                if text_of(function.child_by_field_name("property")) not in AUDIENCE_CALLS:
                    return None
                node = function.child_by_field_name("object")
            else:
                return None
        return None

    # --- events, rooms, payloads -----------------------------------------------------------

    def _method_call(self, call: Node) -> None:
        method, receiver, args = _method_parts(call)
        if not self.out.is_socket_name(self.receiver_name(receiver)):
            return
        if method in {"on", "once", "addListener"} and args:
            event, expression = self.string_value(args[0]), text_of(args[0])
            fields = self.handler_reads(args[1]) if len(args) > 1 else None
            self.out.listen(event, call, expression, fields)
        elif method in {"onAny", "prependAny"}:
            self.out.note("catch-all listener (onAny): the events it handles are unknown", call)
            self.out.listen(None, call, "onAny", None)
        elif method in {"emit", "emitWithAck"} and args:
            self._emit(call, args)
        elif method in {"join", "socketsJoin"} and args:
            for room in _array_elements(args[0]):
                self.out.join(self.string_value(room), room, text_of(room))
        elif method == "connect" and text_of(receiver) == "io":
            self._client_options(call.child_by_field_name("arguments"))
            self._learn_assignment_target(call)

    def _emit(self, call: Node, args: list[Node]) -> None:
        event = self.string_value(args[0])
        payload = next((a for a in args[1:] if a.type not in FUNCTION_TYPES), None)
        fields = () if payload is None else self.payload_fields(payload)
        self.out.emit(event, call, text_of(args[0]), fields)
        if event in self.out.config.subscribe_events:
            rooms = [r for a in args[1:] for r in self.room_literals(a)]
            for room in rooms:
                self.out.request(self.string_value(room), room, text_of(room))
            if not rooms:
                self.out.request(None, call, text_of(payload) or f"emit({text_of(args[0])})")

    def payload_fields(self, node: Node) -> tuple[str, ...] | None:
        if node.type == "identifier":
            resolved = _local_object(node)
            if resolved is None:
                return None
            node = resolved
        if node.type != "object":
            return None
        names: list[str] = []
        for child in node.named_children:
            if child.type == "pair":
                key = child.child_by_field_name("key")
                name = self._key_name(key)
                if name is None:
                    return None
                names.append(name)
            elif child.type in {"shorthand_property_identifier", "method_definition"}:
                names.append(_last_name(child) or text_of(child))
            elif child.type != "comment":
                return None  # a spread: the payload carries fields the scan cannot list
        return unique_sorted(names)

    def _key_name(self, key: Node | None) -> str | None:
        if key is None:
            return None
        if key.type in {"property_identifier", "number"}:
            return text_of(key)
        return self.string_value(key) if key.type == "string" else None

    def room_literals(self, node: Node) -> list[Node]:
        """String and template literals in a subscribe payload; values of `room`-like keys win."""
        if node.type == "object":
            pairs = [c for c in node.named_children if c.type == "pair"]
            keyed = [p for p in pairs if self._key_name(p.child_by_field_name("key")) in ROOM_KEYS]
            chosen = keyed or pairs
            return [lit for p in chosen for lit in self.room_literals(_value(p))]
        if node.type == "array":
            return [lit for element in node.named_children for lit in self.room_literals(element)]
        if node.type in {"string", "template_string"} or (
            node.type == "binary_expression" and self.string_value(node) is not None
        ):
            return [node]
        return []

    def handler_reads(self, handler: Node) -> tuple[str, ...] | None:
        function = self._resolve_function(handler)
        if function is None:
            return None
        parameter = _first_parameter(function)
        if parameter is None:
            return ()
        if parameter.type == "object_pattern":
            return unique_sorted(_pattern_keys(parameter))
        if parameter.type != "identifier":
            return None
        body = function.child_by_field_name("body")
        return () if body is None else unique_sorted(self._reads_of(text_of(parameter), body))

    def _reads_of(self, name: str, body: Node) -> list[str]:
        reads: list[str] = []
        for captures in _matches(self.language, _MEMBER_READS, body):
            if text_of(captures["object"][0]) != name:
                continue
            if "pattern" in captures:
                reads.extend(_pattern_keys(captures["pattern"][0]))
                continue
            read, prop = captures["read"][0], captures["property"][0]
            parent = read.parent
            if parent is not None and parent.type == "call_expression" and \
                    parent.child_by_field_name("function") == read:
                continue  # data.toString(): a method of the value, not a payload field
            value = self.string_value(prop) if prop.type == "string" else text_of(prop)
            if value:
                reads.append(value)
        return reads

    def _resolve_function(self, handler: Node) -> Node | None:
        if handler.type in FUNCTION_TYPES:
            return handler
        if handler.type == "call_expression":  # this.onSpawned.bind(this)
            function = handler.child_by_field_name("function")
            if function is not None and text_of(function.child_by_field_name("property")) == "bind":
                return self._resolve_function(function.child_by_field_name("object") or handler)
            return None
        name = _last_name(handler)
        return self._function_named(name) if name else None

    def _function_named(self, name: str) -> Node | None:
        if self._functions is None:
            found: dict[str, Node | None] = {}
            kind = next(k for k in _FIELD_FUNCTIONS if self.language.id_for_node_kind(k, True))
            for captures in _matches(self.language, _FUNCTIONS + _FIELD_FUNCTIONS[kind], self.root):
                key = text_of(captures["name"][0])
                # A name defined twice is ambiguous: better unknown than wrong.
                found[key] = None if key in found else captures["function"][0]
            self._functions = found
        return self._functions.get(name)

    # --- options -----------------------------------------------------------------------------

    def _server_options(self, arguments: Node | None) -> None:
        options = _last_object(arguments)
        if options is None:
            return
        self.out.roles.add("server")
        for pair in _pairs(options):
            key, value = self._key_name(pair.child_by_field_name("key")), _value(pair)
            if key == "path":
                self.out.option("path", self.literal(value), value)
            elif key == "cors" and value.type == "object":
                self._cors(value)
            elif key == "transports":
                self.out.option("transports", self.string_list(value), value)
            elif key in {"pingInterval", "pingTimeout"}:
                name = "ping-interval" if key == "pingInterval" else "ping-timeout"
                self.out.option(name, text_of(value) if value.type == "number" else None, value)
            elif key == "addTrailingSlash":
                self.out.option("add-trailing-slash", _boolean(value), value)

    def _cors(self, cors: Node) -> None:
        for pair in _pairs(cors):
            key, value = self._key_name(pair.child_by_field_name("key")), _value(pair)
            if key == "origin":
                origins = "reflect" if value.type == "true" else self.string_list(value)
                self.out.option("cors-origins", origins, value)
            elif key == "credentials":
                self.out.option("cors-credentials", _boolean(value), value)

    def _client_options(self, arguments: Node | None) -> None:
        if arguments is None:
            return
        self.out.roles.add("client")
        args = arguments.named_children
        if args and args[0].type != "object":
            self.out.option("client-url", self.literal(args[0]), args[0])
        options = _last_object(arguments)
        for pair in _pairs(options) if options is not None else []:
            key, value = self._key_name(pair.child_by_field_name("key")), _value(pair)
            if key == "path":
                self.out.option("client-path", self.literal(value), value)
            elif key == "transports":
                self.out.option("client-transports", self.string_list(value), value)
            elif key == "withCredentials":
                self.out.option("client-credentials", _boolean(value), value)

    # --- literal values ----------------------------------------------------------------------

    def literal(self, node: Node) -> str | None:
        """A plain literal's value; a template with substitutions is not a literal."""
        if node.type == "binary_expression" or (node.type == "template_string" and any(
            c.type == "template_substitution" for c in node.named_children
        )):
            return None
        return self.string_value(node)

    def string_list(self, node: Node) -> str | None:
        if node.type != "array":
            return self.literal(node)
        values = [self.literal(element) for element in node.named_children]
        return None if any(v is None for v in values) else ",".join(v for v in values if v)

    def string_value(self, node: Node | None) -> str | None:
        """A string's value; templates and `+` give `{placeholder}` patterns; constants resolve."""
        if node is None:
            return None
        if node.type == "string":
            return "".join(text_of(c) for c in node.named_children)
        if node.type == "template_string":
            return "".join(
                f"{{{_placeholder(c)}}}" if c.type == "template_substitution" else text_of(c)
                for c in node.named_children
            )
        if node.type == "binary_expression" and text_of(node.child_by_field_name("operator")) == "+":
            left = self.string_value(node.child_by_field_name("left"))
            right = self.string_value(node.child_by_field_name("right"))
            if left is None and right is None:
                return None
            lhs = left if left is not None else f"{{{_placeholder(node.child_by_field_name('left'))}}}"
            rhs = right if right is not None else f"{{{_placeholder(node.child_by_field_name('right'))}}}"
            return lhs + rhs
        if node.type in {"identifier", "member_expression"}:
            return self.constants.get(text_of(node))
        if node.type in WRAPPERS:
            return self.string_value(_first_named(node))
        return None

    def _constants(self) -> dict[str, str]:
        """Module constants (`const SPAWNED = 'agent:spawned'`, `EVENTS.SPAWNED`) bound once."""
        seen: dict[str, str | None] = {}
        for captures in _matches(self.language, _CONSTANTS, self.root):
            value = captures["value"][0]
            if "key" in captures:
                name = f"{text_of(captures['object'][0])}.{text_of(captures['key'][0])}"
            else:
                name = text_of(captures["name"][0])
            literal = "".join(text_of(c) for c in value.named_children)
            seen[name] = None if name in seen and seen[name] != literal else literal
        return {name: value for name, value in seen.items() if value is not None}


# --- syntax helpers ----------------------------------------------------------------------------


def _method_parts(call: Node) -> tuple[str, Node | None, list[Node]]:
    function = call.child_by_field_name("function")
    arguments = call.child_by_field_name("arguments")
    args = [a for a in arguments.named_children if a.type != "comment"] if arguments else []
    if function is None or function.type != "member_expression":
        return "", None, args
    return text_of(function.child_by_field_name("property")), function.child_by_field_name("object"), args


def _first_named(node: Node | None) -> Node | None:
    if node is None:
        return None
    return next((c for c in node.named_children if c.type != "comment"), None)


def _last_name(node: Node | None) -> str | None:
    if node is None:
        return None
    if node.type in {"identifier", "property_identifier", "shorthand_property_identifier"}:
        return text_of(node)
    if node.type == "member_expression":
        return text_of(node.child_by_field_name("property"))
    named = node.child_by_field_name("name")
    return text_of(named) if named is not None else None


def _unwrap_up(node: Node) -> Node | None:
    parent = node.parent
    while parent is not None and parent.type in WRAPPERS:
        parent = parent.parent
    return parent


def _first_parameter(function: Node) -> Node | None:
    single = function.child_by_field_name("parameter")
    if single is not None:
        return single
    parameters = function.child_by_field_name("parameters")
    first = _first_named(parameters)
    if first is None:
        return None
    if first.type in {"required_parameter", "optional_parameter"}:
        return first.child_by_field_name("pattern")
    if first.type == "assignment_pattern":
        return first.child_by_field_name("left")
    return first


def _pattern_keys(pattern: Node) -> list[str]:
    keys: list[str] = []
    for child in pattern.named_children:
        if child.type == "shorthand_property_identifier_pattern":
            keys.append(text_of(child))
        elif child.type == "pair_pattern":
            key = child.child_by_field_name("key")
            if key is not None and key.type == "property_identifier":
                keys.append(text_of(key))
            elif key is not None and key.type == "string":
                keys.append("".join(text_of(c) for c in key.named_children))
        elif child.type == "object_assignment_pattern":
            keys.append(text_of(child.child_by_field_name("left")))
    return keys


def _placeholder(node: Node | None) -> str:
    inner = _first_named(node) if node is not None and node.type == "template_substitution" else node
    while inner is not None and inner.type in WRAPPERS:
        inner = _first_named(inner)
    if inner is None:
        return "value"
    if inner.type == "identifier":
        return text_of(inner)
    if inner.type == "member_expression":
        return text_of(inner.child_by_field_name("property"))
    if inner.type == "subscript_expression":
        index = inner.child_by_field_name("index")
        if index is not None and index.type == "string":
            return "".join(text_of(c) for c in index.named_children)
    return "value"


def _value(pair: Node) -> Node:
    return pair.child_by_field_name("value") or pair


def _pairs(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type == "pair"]


def _last_object(arguments: Node | None) -> Node | None:
    if arguments is None:
        return None
    objects = [a for a in arguments.named_children if a.type == "object"]
    return objects[-1] if objects else None


def _array_elements(node: Node) -> list[Node]:
    return list(node.named_children) if node.type == "array" else [node]


def _boolean(node: Node) -> str | None:
    return node.type if node.type in {"true", "false"} else None


def _descendants(node: Node | None, kind: str) -> Iterator[Node]:
    if node is None:
        return
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            yield current
        stack.extend(current.named_children)


def _local_object(identifier: Node) -> Node | None:
    """The object literal a local `const name = {...}` before this use binds, if exactly one."""
    name = text_of(identifier)
    scope = identifier.parent
    while scope is not None:
        if scope.type in {"statement_block", "program"}:
            for statement in scope.named_children:
                if statement.start_byte >= identifier.start_byte:
                    break
                if statement.type not in {"lexical_declaration", "variable_declaration"}:
                    continue
                for declarator in statement.named_children:
                    if declarator.type == "variable_declarator" and \
                            text_of(declarator.child_by_field_name("name")) == name:
                        value = declarator.child_by_field_name("value")
                        return value if value is not None and value.type == "object" else None
        scope = scope.parent
    return None
