// Types of cluster.mjs, for the tests that import it.

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function findExecutable(name: string): string | undefined;
export function missingServers(): string[];
export function freePort(host?: string): Promise<number>;

export interface RedisProcess {
  /** redis://[:password@]127.0.0.1:port */
  url: string;
  port: number;
  pid: number | undefined;
  output(): string;
  pause(): boolean;
  resume(): boolean;
  stop(): Promise<Exit>;
}
export function startRedis(options: { dir: string; password?: string; port?: number }): Promise<RedisProcess>;

export interface ReplicaProcess {
  /** host:port */
  address: string;
  /** http://host:port/mcp */
  url: string;
  pid: number | undefined;
  logs(): string;
  exited: Promise<Exit>;
  signal(name: NodeJS.Signals): boolean;
  stop(): Promise<Exit>;
}
export function startReplica(options: {
  cli: string;
  env: Record<string, string>;
  host?: string;
  port?: number;
  cwd?: string;
}): Promise<ReplicaProcess>;

export interface NginxSite {
  port: number;
  /** host:port of each replica */
  upstreams: string[];
}
export const NGINX_LOCATION: readonly string[];
export function nginxConfig(options: { dir: string; sites: NginxSite[] }): string;

export interface NginxProcess {
  urls: string[];
  pid: number | undefined;
  output(): string;
  accessLog(): string;
  stop(): Promise<Exit>;
}
export function startNginx(options: { dir: string; sites: NginxSite[] }): Promise<NginxProcess>;
