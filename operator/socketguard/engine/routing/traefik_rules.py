"""Traefik's v3 rule language (`match` of an IngressRoute, the rule an Ingress path becomes).

A rule is a boolean expression of matcher calls (`Host(\\`a\\`) && (PathPrefix(\\`/x\\`) ||
!Header(\\`k\\`, \\`v\\`))`), parsed here by a tokenizer and a recursive-descent parser with Go's
precedence (`!` binds tightest, then `&&`, then `||`). Matcher names are accepted as written,
all-lower, all-upper or title case, and strings in backquotes or double quotes, as Traefik's
parser (vulcand/predicate over Go expressions) accepts them. The matchers follow
`pkg/muxer/http/matcher.go` of traefik v3.7:

- `Host` compares case-insensitively; a leading `*` label matches exactly one label.
- `Path` is exact; `PathPrefix` is a plain string prefix (`/socket.io` matches `/socket.iox`);
  `PathRegexp`, `HostRegexp`, `HeaderRegexp`, `QueryRegexp` are unanchored Go regexes.
- `Header(k, v)` needs a header value equal to `v`; `Query(k)` a parameter `k` with an empty
  value, `Query(k, v)` one equal to `v`; `Method` compares upper-cased.
- `ClientIP` depends on the client address, which a rule check does not know: it is taken as
  matching and said so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from socketguard.engine.routing.matching import compiled

ARITY: dict[str, tuple[int, ...]] = {
    "ClientIP": (1,), "Method": (1,), "Host": (1,), "HostRegexp": (1,), "Path": (1,),
    "PathRegexp": (1,), "PathPrefix": (1,), "Header": (2,), "HeaderRegexp": (2,),
    "Query": (1, 2), "QueryRegexp": (1, 2),
}
# Traefik registers each matcher as written, lower-case, upper-case and title case.
_SPELLINGS = {spelling: name for name in ARITY
              for spelling in (name, name.lower(), name.upper(), name.lower().capitalize())}
_TOKEN = re.compile(r"""\s*(?:(?P<op>&&|\|\||[!(),])|(?P<ident>[A-Za-z_]\w*)
                          |(?P<raw>`[^`]*`)|(?P<quoted>"(?:[^"\\]|\\.)*"))""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'"}


class RuleError(ValueError):
    """The rule does not parse; Traefik refuses such a router."""


@dataclass(frozen=True)
class Matcher:
    name: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr


Expr = Matcher | Not | And | Or


@dataclass(frozen=True)
class HttpRequest:
    """What a rule can look at: host, path, method, headers (lower-case names) and query."""

    host: str
    path: str
    method: str = "GET"
    headers: Mapping[str, str] | None = None
    query: Mapping[str, str] | None = None


def _tokens(rule: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(rule):
        if rule[position:].strip() == "":
            break
        found = _TOKEN.match(rule, position)
        if found is None:
            raise RuleError(f"unexpected {rule[position:].strip()[:12]!r} at offset {position}")
        kind = found.lastgroup or ""
        text = found.group(kind)
        if kind == "raw":
            text = text[1:-1]
        elif kind == "quoted":
            text = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
            kind = "raw"
        tokens.append((kind, text))
        position = found.end()
    return tokens


class _Parser:
    def __init__(self, rule: str) -> None:
        self.tokens = _tokens(rule)
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise RuleError(f"the rule ends where {text or 'more'!r} was expected")
        if text is not None and token != ("op", text):
            raise RuleError(f"expected {text!r}, found {token[1]!r}")
        self.index += 1
        return token

    def accept(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.index += 1
            return True
        return False

    def expression(self) -> Expr:
        node = self.conjunction()
        while self.accept("||"):
            node = Or(node, self.conjunction())
        return node

    def conjunction(self) -> Expr:
        node = self.unary()
        while self.accept("&&"):
            node = And(node, self.unary())
        return node

    def unary(self) -> Expr:
        if self.accept("!"):
            return Not(self.unary())
        if self.accept("("):
            inner = self.expression()
            self.take(")")
            return inner
        return self.matcher()

    def matcher(self) -> Matcher:
        kind, text = self.take()
        name = _SPELLINGS.get(text) if kind == "ident" else None
        if name is None:
            raise RuleError(f"unknown matcher {text!r}" if kind == "ident" else f"expected a matcher, found {text!r}")
        self.take("(")
        args: list[str] = []
        while not self.accept(")"):
            if args:
                self.take(",")
            kind, value = self.take()
            if kind != "raw":
                raise RuleError(f"{name} expects string arguments, found {value!r}")
            args.append(value)
        if len(args) not in ARITY[name]:
            raise RuleError(f"{name} takes {' or '.join(map(str, ARITY[name]))} argument(s), got {len(args)}")
        if name in ("Path", "PathPrefix") and not args[0].startswith("/"):
            raise RuleError(f"{name} path {args[0]!r} does not start with a '/'")
        return Matcher(name, tuple(args))


def parse(rule: str) -> Expr:
    """The expression tree of a v3 rule; RuleError when Traefik would refuse it."""
    if not rule.strip():
        raise RuleError("empty rule")
    parser = _Parser(rule)
    expression = parser.expression()
    if parser.peek() is not None:
        raise RuleError(f"unexpected {parser.peek()[1]!r} after a complete rule")  # type: ignore[index]
    return expression


def matches(expression: Expr, request: HttpRequest) -> bool:
    if isinstance(expression, Not):
        return not matches(expression.operand, request)
    if isinstance(expression, And):
        return matches(expression.left, request) and matches(expression.right, request)
    if isinstance(expression, Or):
        return matches(expression.left, request) or matches(expression.right, request)
    return _matcher_matches(expression, request)


def _search(pattern: str, text: str) -> bool:
    regex = compiled(pattern)
    return regex is not None and regex.search(text) is not None


def _matcher_matches(matcher: Matcher, request: HttpRequest) -> bool:
    name, args = matcher.name, matcher.args
    headers = request.headers or {}
    query = request.query or {}
    if name == "Host":
        return host_matches(args[0], request.host)
    if name == "HostRegexp":
        return _search(args[0], request.host.lower())
    if name == "Path":
        return request.path == args[0]
    if name == "PathPrefix":
        return request.path.startswith(args[0])
    if name == "PathRegexp":
        return _search(args[0], request.path)
    if name == "Method":
        return request.method.upper() == args[0].upper()
    if name in ("Header", "HeaderRegexp"):
        value = headers.get(args[0].lower())
        return value is not None and (value == args[1] if name == "Header" else _search(args[1], value))
    if name in ("Query", "QueryRegexp"):
        value = query.get(args[0])
        expected = args[1] if len(args) == 2 else ""
        return value is not None and (value == expected if name == "Query" or len(args) == 1
                                      else _search(expected, value))
    return True  # ClientIP: unknown without a client address


def fold_host(host: str) -> str:
    """A host (or a `Host` value) as Traefik compares it: lower case, without a trailing dot."""
    return host.lower().rstrip(".")


def host_matches(expression: str, host: str) -> bool:
    """Traefik's `Host`: `*` matches all, a leading `*` label one label, else equality ignoring case."""
    host = fold_host(host)
    expression = fold_host(expression)
    if expression == "*":
        return True
    if expression.startswith("*"):
        labels = host.split(".")
        return ".".join(["*", *labels[1:]]) == expression
    return host == expression


def positive_matchers(expression: Expr, negated: bool = False) -> Iterator[Matcher]:
    """Matchers that must hold for the rule to match (not under a `!`)."""
    if isinstance(expression, Not):
        yield from positive_matchers(expression.operand, not negated)
    elif isinstance(expression, And | Or):
        yield from positive_matchers(expression.left, negated)
        yield from positive_matchers(expression.right, negated)
    elif not negated:
        yield expression


def hosts(expression: Expr) -> list[str]:
    """The `Host` values a rule names (empty: any host)."""
    return [m.args[0] for m in positive_matchers(expression) if m.name == "Host"]


def uses_client_ip(expression: Expr) -> bool:
    return any(m.name == "ClientIP" for m in positive_matchers(expression))
