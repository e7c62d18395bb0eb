// nginx as a reverse proxy with a JSON access_log, keep-alive to the upstream, N worker processes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const JSON_LOG = `'{"time":"$time_iso8601","requestId":"$request_id","remoteAddr":"$remote_addr","method":"$request_method",'
    '"uri":"$request_uri","status":$status,"bytesSent":$body_bytes_sent,"requestTime":$request_time,'
    '"upstreamTime":"$upstream_response_time","userAgent":"$http_user_agent"}'`;

/** Writes nginx.conf under dir (which becomes nginx's prefix) and returns the arguments to run it in the foreground. */
export function nginxArgs(dir: string, port: number, upstreamPort: number, workers: number | 'auto'): string[] {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `  ${name}_temp_path ${join(dir, name)};`).join('\n');
  const conf = `worker_processes ${workers};
daemon off;
user root;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs/error.log')} warn;
events { worker_connections 4096; }
http {
  log_format audit escape=json ${JSON_LOG};
  access_log ${join(dir, 'logs/access.log')} audit;
${temp}
  client_body_buffer_size 64k;
  upstream origin { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port} reuseport;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Request-Id $request_id;
    }
  }
}
`;
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  return ['-p', dir, '-c', file];
}
