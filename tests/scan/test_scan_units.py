"""Small sources for each extraction rule of the scanner, and bad input."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from socketguard.inputs.scan.collect import ScanConfig
from socketguard.inputs.scan.model import FileScan
from socketguard.inputs.scan.source import scan_paths, scan_source


def js(source: str, name: str = "x.js", config: ScanConfig | None = None) -> FileScan:
    return scan_source(source, name, config)


def py(source: str) -> FileScan:
    return scan_source(source, "x.py")


def test_non_literal_event_names_are_unknown_not_dropped() -> None:
    result = js("socket.on(EVENT_NAME, h);\nsocket.emit(`agent:${kind}`, {a: 1});\n")
    assert [(u.event, u.expression, u.location.line) for u in result.listens] == [(None, "EVENT_NAME", 1)]
    assert [(u.event, u.location.line) for u in result.emits] == [("agent:{kind}", 2)]


def test_constants_name_events() -> None:
    source = "const SPAWNED = 'agent:spawned';\nconst EVENTS = { DONE: 'task:complete' };\n" \
             "socket.on(SPAWNED, f);\nsocket.on(EVENTS.DONE, f);\n"
    assert [u.event for u in js(source).listens] == ["agent:spawned", "task:complete"]


def test_reserved_events_other_emitters_and_the_manager_are_ignored() -> None:
    source = """
    socket.on('connect', () => {});
    socket.on('connect_error', () => {});
    socket.io.on('reconnect_attempt', () => {});
    taskManager.on('agent:started', (e) => {});
    emitter.emit('task:progress', {});
    socket.on('real', () => {});
    """
    result = js(source)
    assert [u.event for u in result.listens] == ["real"]
    assert result.emits == ()


def test_audience_modifiers_and_learned_receivers() -> None:
    source = """
    import { Server as IOS } from 'socket.io';
    const hub = new IOS(3000, { path: '/ws', cors: { origin: true, credentials: true } });
    hub.on('connection', (conn) => {
      conn.join(`room:${conn.data.user}`);
      conn.join(['lobby', prefix + ':x']);
      conn.to('lobby').emit('hello', { who: 1 });
      hub.of('/admin').in('x').emit('audit', payload);
      conn.broadcast.emit('joined', { ...conn.data });
    });
    """
    result = js(source, "x.ts")
    assert result.roles == {"server"}
    assert [(u.event, u.fields) for u in result.emits] == [
        ("hello", ("who",)), ("audit", None), ("joined", None)]
    assert [r.pattern for r in result.joins] == ["room:{user}", "lobby", "{prefix}:x"]
    options = {o.key: o.value for o in result.options}
    assert options == {"path": "/ws", "cors-origins": "reflect", "cors-credentials": "true"}


def test_handler_reads_destructuring_members_and_named_functions() -> None:
    source = """
    import { io } from 'socket.io-client';
    const s = io('https://api.example.com/chat', { path: '/rt', withCredentials: true });
    s.on('a', ({ agentId, model: m, ...rest }) => {});
    s.on('b', function (data) { const { x, y } = data; use(data?.z, data['w']); data.toString(); });
    s.on('c', onC);
    s.on('d', this.handleD.bind(this));
    s.on('e', elsewhere.handler);
    function onC(msg) { return msg.q; }
    """
    result = js(source, "x.tsx")
    assert result.roles == {"client"}
    assert {u.event: u.fields for u in result.listens} == {
        "a": ("agentId", "model"), "b": ("w", "x", "y", "z"), "c": ("q",), "d": None, "e": None}
    options = {o.key: o.value for o in result.options}
    assert options["client-url"] == "https://api.example.com/chat"
    assert options["client-path"] == "/rt" and options["client-credentials"] == "true"


def test_room_requests_prefer_room_keys_and_are_configurable() -> None:
    source = "socket.emit('subscribe', { kind: 'task', room: 'task:' + id });\n" \
             "socket.emit('watch', ['a:1', `b:${n}`]);\nsocket.emit('join', roomName);\n"
    default = js(source)
    assert [(r.pattern, r.location.line) for r in default.requests] == [("task:{id}", 1), (None, 3)]
    custom = js(source, config=ScanConfig(subscribe_events=frozenset({"watch"})))
    assert [r.pattern for r in custom.requests] == ["a:1", "b:{n}"]


def test_catch_all_listener_makes_listens_unknown() -> None:
    assert [u.event for u in js("socket.onAny((e, ...a) => {});").listens] == [None]
    assert [u.event for u in py("@sio.on('*')\ndef any_event(event, sid, data):\n    pass\n").listens] == [None]


def test_python_client_and_namespaced_handlers() -> None:
    source = """
import socketio
client = socketio.AsyncClient()

@client.on("agent:spawned")
async def spawned(data):
    print(data["agentId"], data.get("name"))

@client.event
async def message(data):
    pass

async def main():
    await client.connect("https://api.example.com", socketio_path="/mageagent/socket.io/")
    await client.emit("subscribe", {"room": f"task:{task['id']}"})
"""
    result = py(source)
    assert result.roles == {"client"}
    assert {u.event: u.fields for u in result.listens} == {"agent:spawned": ("agentId", "name"),
                                                           "message": ()}
    assert [r.pattern for r in result.requests] == ["task:{id}"]
    options = {o.key: o.value for o in result.options}
    assert options == {"client-url": "https://api.example.com", "client-path": "/mageagent/socket.io"}


def test_python_server_options_and_payloads() -> None:
    source = """
from aiohttp import web
import socketio
sio = socketio.AsyncServer(cors_allowed_origins="*", cors_credentials=False, ping_interval=10)
sio.attach(web.Application(), socketio_path="/rt")

async def push(extra):
    await sio.emit("a", {**extra, "x": 1})
    await sio.emit("b", data={"y": 2}, room="r")
    await sio.emit(EVENT)
"""
    result = py(source)
    assert {u.event: u.fields for u in result.emits} == {"a": None, "b": ("y",), None: ()}
    options = {o.key: o.value for o in result.options}
    assert options == {"cors-origins": "*", "cors-credentials": "false", "ping-interval": "10000",
                       "stack": "python", "path": "/rt"}


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["a.js", "a.ts", "a.tsx", "a.py"]))
def test_malformed_source_never_raises(data: bytes, name: str) -> None:
    scan_source(data, name)


def test_truncated_source_is_scanned_with_a_note() -> None:
    result = js("socket.on('ok', (d) => d.x);\nsocket.emit('half', { a: ")
    assert [u.event for u in result.listens] == ["ok"]
    assert any("syntax errors" in note.message for note in result.notes)


def test_walker_skips_dependencies_and_oversized_files(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.ts").write_text("socket.emit('a');\n")
    (tmp_path / "src" / "types.d.ts").write_text("socket.emit('declared');\n")
    (tmp_path / "src" / "notes.txt").write_text("socket.emit('text');\n")
    for skipped in ("node_modules", "dist", "build", ".git"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "b.js").write_text("socket.emit('skipped');\n")
    (tmp_path / "src" / "big.js").write_text("socket.emit('big');\n" + "//" * 600)
    result = scan_paths([tmp_path, tmp_path / "missing"], max_file_bytes=1000)
    assert [u.event for u in result.emits] == ["a"]
    assert [Path(f.file).name for f in result.files] == ["a.ts"]
    messages = sorted(note.message for note in result.errors)
    assert messages[0] == "no such file or directory" and "1000-byte limit" in messages[1]


def test_python_namespace_classes() -> None:
    source = """
import socketio

class Agents(socketio.AsyncNamespace):
    async def on_connect(self, sid, environ):
        pass

    async def on_subscribe(self, sid, data):
        await self.enter_room(sid, f"agent:{data['agentId']}")
        await self.emit("subscribed", {"agentId": data["agentId"]}, to=sid)

class Plain(object):
    def on_other(self, x):
        self.emit("not-socketio")
"""
    result = py(source)
    assert [(u.event, u.fields) for u in result.listens] == [("subscribe", ("agentId",))]
    assert [(u.event, u.fields) for u in result.emits] == [("subscribed", ("agentId",))]
    assert [r.pattern for r in result.joins] == ["agent:{agentId}"]


def test_commonjs_server_factory() -> None:
    source = "const io = require('socket.io')(http, { path: '/rt', cors: { origin: ['https://a', 'https://b'] } });\n" \
             "io.on('connection', (client) => { client.on('x', () => {}); });\n"
    result = js(source)
    assert result.roles == {"server"}
    assert {o.key: o.value for o in result.options} == {"path": "/rt", "cors-origins": "https://a,https://b"}
    assert [u.event for u in result.listens] == ["x"]


def test_deeply_nested_expressions_never_raise() -> None:
    result = js("socket.emit(" + "'a' + " * 3000 + "'b');\nsocket.on('ok', f);\n")
    assert [u.event for u in result.listens] == ["ok"]  # the rest of the file is still scanned
    assert [(n.message, n.location.line) for n in result.notes] == [("nested too deeply to scan", 1)]


def test_renamed_client_factories_and_class_handlers() -> None:
    source = """
import connectSocket from 'socket.io-client';
const legacy = require('socket.io-client');
class Feed {
  private conn = connectSocket('wss://feed.example.com', { path: '/feed' });
  start() {
    this.conn.on('tick', this.onTick);
    this.conn.on('quote', this.onQuote.bind(this));
    legacy('https://old.example.com');
  }
  onTick = (data: Tick) => { render(data.price); };
  onQuote(q: Quote) { return q.symbol; }
}
"""
    result = js(source, "feed.ts")
    assert result.roles == {"client"}
    assert {u.event: u.fields for u in result.listens} == {"tick": ("price",), "quote": ("symbol",)}
    urls = [o.value for o in result.options if o.key == "client-url"]
    assert urls == ["wss://feed.example.com", "https://old.example.com"]


def test_other_libraries_server_classes_are_not_socket_io() -> None:
    source = "import { Server } from 'ws';\nconst wss = new Server({ path: '/raw' });\n" \
             "wss.on('connection', (c) => {});\n"
    result = js(source, "raw.ts")
    assert result.options == () and result.roles == frozenset()


JS_FRAGMENTS = ["socket.on(", "io.to(", ").emit(", "'ev'", "`t:${", "}`", "{", "}", "(", ")", ",", "data.x",
                "({a, ...b}) =>", "function (d) {", "socket.join(", "new Server(s, {path: ", "io(", "+", ";\n"]
PY_FRAGMENTS = ["@sio.on(", "@sio.event\n", "def f(sid, data):\n    ", "sio.emit(", '"ev"', 'f"r:{', "}\"",
                "{", "}", "(", ")", ",", "data['x']", "**kw", "await sio.enter_room(sid, ", "\n",
                "socketio.ASGIApp(sio, socketio_path=", "class N(socketio.Namespace):\n    "]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(JS_FRAGMENTS), max_size=40), st.sampled_from(["a.js", "a.tsx"]))
def test_socket_io_shaped_garbage_never_raises_js(parts: list[str], name: str) -> None:
    scan_source("".join(parts), name)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(PY_FRAGMENTS), max_size=40))
def test_socket_io_shaped_garbage_never_raises_python(parts: list[str]) -> None:
    scan_source("".join(parts), "a.py")
