// The "limit" contender: the least a Node forwarder can do, an undici Pool.stream per request straight into the
// client's response, no auditing, no header rewriting. Args: <port> <target>.
import http from 'node:http';
import { Writable } from 'node:stream';
import { Pool } from 'undici';

const pool = new Pool(process.argv[3]!, { connections: 256, pipelining: 1 });

http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  pool.stream(
    { path: req.url ?? '/', method: req.method as 'GET', headers: req.headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, headers as http.OutgoingHttpHeaders);
      return res as unknown as Writable;
    },
    (err) => {
      if (!err) return;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    },
  );
}).listen(Number(process.argv[2]), '127.0.0.1');
