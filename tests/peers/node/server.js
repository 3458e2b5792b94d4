// Reference socket.io 4.x server for the probe tests.
// Usage: node server.js --path /ws/socket.io [--cors-origin https://app.example] [--namespace /chat]
//        node server.js --path /eio --engine-io-only   (Engine.IO without Socket.IO on top)
//        [--host 198.18.0.2]   (an address of a test's own network namespace; default 127.0.0.1)
//        [--port 8080]         (default 0: a port the OS picks; a pod serves on its containerPort)
// Prints "listening <port>" once ready.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

function parseArgs(argv) {
  const options = { path: "/socket.io", corsOrigins: [], namespaces: ["/"], engineIoOnly: false, host: "127.0.0.1", port: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--engine-io-only") {
      options.engineIoOnly = true;
      i -= 1;
      continue;
    }
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--path") options.path = value;
    else if (flag === "--cors-origin") options.corsOrigins.push(value);
    else if (flag === "--namespace") options.namespaces.push(value);
    else if (flag === "--host") options.host = value;
    else if (flag === "--port") options.port = Number.parseInt(value, 10);
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));

// An app normally answers its other paths itself (express and the like); a bare http.Server would
// leave them hanging, which is not what a misrouted request meets in real deployments.
const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "Content-Type": "text/html; charset=utf-8" });
  res.end(`<!DOCTYPE html><html><body><pre>Cannot ${req.method} ${req.url}</pre></body></html>`);
});

function startSocketIo() {
  const serverOptions = { path: options.path };
  if (options.corsOrigins.length > 0) {
    serverOptions.cors = { origin: options.corsOrigins, credentials: true };
  }
  const io = new Server(httpServer, serverOptions);
  for (const name of options.namespaces) {
    io.of(name).on("connection", (socket) => {
      socket.on("echo", (payload, ack) => {
        if (typeof ack === "function") ack(payload);
      });
    });
  }
  return io;
}

// engine.io ships with socket.io; alone it opens sessions but never answers a Socket.IO CONNECT.
const io = options.engineIoOnly
  ? require("engine.io").attach(httpServer, { path: options.path })
  : startSocketIo();

httpServer.listen(options.port, options.host, () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

function stop() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
