// The plain contender: http-proxy-3 with a keep-alive agent, no auditing. Args: <port> <target>.
import http from 'node:http';
import { createProxyServer } from 'http-proxy-3';

const proxy = createProxyServer({ target: process.argv[3]!, agent: new http.Agent({ keepAlive: true, maxSockets: 256 }) });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
});
http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => proxy.web(req, res)).listen(Number(process.argv[2]), '127.0.0.1');
