/**
 * nginx (Debian package) as a peer: a plain reverse proxy, and the classic setup for
 * this job — `auth_request` to a small auth service whose answers `proxy_cache` keeps,
 * keyed on the token, with `auth_request_set` copying the X-User-* headers into the
 * upstream request. One worker, run as a child in a temp prefix.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { proxyCore, startProcess, waitForPort, type Started } from './child-process.js';

export const nginxBinary = ['/usr/sbin/nginx', 'nginx'].find((bin) => spawnSync(bin, ['-v'], { stdio: 'ignore' }).status === 0);

const identityFields = ['id', 'email', 'role', 'region', 'scope'] as const;

export interface NginxOptions {
  dir: string;
  port: number;
  originPort: number;
  /** Set → `auth_request` to this port with the answers cached per token. */
  authPort?: number;
}

export function nginxConfig(options: NginxOptions): string {
  const { dir } = options;
  const auth = options.authPort !== undefined;
  const authLocation = `
    location = /_auth {
      internal;
      proxy_pass http://auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_cache auth;
      proxy_cache_key $http_authorization;
      proxy_cache_valid 200 5m;
      proxy_ignore_headers Cache-Control Expires Set-Cookie;
    }`;
  const authDirectives = `
      auth_request /_auth;
${identityFields.map((f) => `      auth_request_set $ctx_${f} $upstream_http_x_user_${f};`).join('\n')}
${identityFields.map((f) => `      proxy_set_header X-User-${f[0]!.toUpperCase()}${f.slice(1)} $ctx_${f};`).join('\n')}`;
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 30000;
events { worker_connections 25000; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_temp;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;
  keepalive_requests 100000000;
  keepalive_timeout 65s;
  upstream origin { server 127.0.0.1:${options.originPort}; keepalive 256; keepalive_requests 100000000; }
${auth ? `  upstream auth { server 127.0.0.1:${options.authPort}; keepalive 64; keepalive_requests 100000000; }
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=auth:20m max_size=512m inactive=10m;` : ''}
  server {
    listen 127.0.0.1:${options.port} backlog=4096;
    location / {${auth ? authDirectives : ''}
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }${auth ? authLocation : ''}
  }
}
`;
}

/** Starts nginx pinned to the proxy core; resolves once it listens. */
export async function startNginx(options: NginxOptions & { logDir: string; name: string }): Promise<Started> {
  if (!nginxBinary) throw new Error('nginx is not installed');
  mkdirSync(options.dir, { recursive: true });
  // Workers run as `nobody` when the master is root: they must reach the cache and temp dirs.
  chmodSync(options.dir, 0o777);
  const conf = join(options.dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(options));
  const started = startProcess({
    name: options.name,
    command: nginxBinary,
    args: ['-p', options.dir, '-e', join(options.dir, 'error.log'), '-c', conf, '-g', 'daemon off;'],
    core: proxyCore,
    logDir: options.logDir,
  });
  await waitForPort(started, options.port);
  return started;
}
