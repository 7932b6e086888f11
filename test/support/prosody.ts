/**
 * Debian's Prosody (0.12) as a real XMPP peer for the tests: each `startProsody` writes its own
 * config into a temporary directory, registers the accounts with `prosodyctl`, starts `prosody -F` in
 * the foreground (0.12 deprecates the config's `daemonize`) on free loopback ports, waits until its c2s port accepts, and `stop()` ends it and
 * removes the directory.
 *
 * TLS is off (`modules_disabled = { "tls" }`, no encryption required, `s2s_secure_auth = false`) so
 * that c2s and s2s run in the clear, PLAIN included (`allow_unencrypted_plain_auth`). Outgoing s2s
 * finds a peer through `s2s_connect_overrides` (domain -> { ip, port }), read by the small plugin
 * `mod_fedsim_connect` written next to the config: Prosody 0.12 has no such option of its own (it asks
 * DNS for SRV, then A/AAAA), and no resolver or /etc/hosts change is allowed in a test.
 *
 * Without the `prosody` binary, `prosodyMissing()` says why: tests skip (a developer machine), except
 * under CI=true, where the missing server is a failure (`.ci/run` installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Prosody starts in about a second; generous for a busy two-core machine. */
const startMs = 20_000;
const stopMs = 5_000;

export interface ProsodyOptions {
  /** The VirtualHost. @defaultValue 'b.test' */
  readonly domain?: string;
  /** Accounts to register: `local` at `domain`. */
  readonly accounts?: readonly { readonly local: string; readonly password: string }[];
  /** Outgoing s2s targets: remote domain -> loopback port. */
  readonly s2sPeers?: Readonly<Record<string, number>>;
  /** Extra modules to enable beyond the defaults below. */
  readonly modules?: readonly string[];
}

export interface Prosody {
  readonly domain: string;
  readonly c2sPort: number;
  readonly s2sPort: number;
  readonly dir: string;
  /** Prosody's log so far (debug level), for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

/** Why Prosody cannot run here, or undefined when it can. */
export function prosodyMissing(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v prosody && command -v prosodyctl'], { encoding: 'utf8' });
  if (found.status === 0) return undefined;
  return "Debian's prosody is not installed (apt-get install prosody; .ci/run installs it)";
}

/**
 * `describe.skipIf` argument for the Prosody tests: true (skip, with a message on stderr) when the
 * binary is missing outside CI. Under CI=true a missing Prosody throws, so the suite fails.
 */
export function skipWithoutProsody(): boolean {
  const missing = prosodyMissing();
  if (missing === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${missing}`);
  process.stderr.write(`skipping the Prosody tests: ${missing}\n`);
  return true;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const lua = (text: string): string => JSON.stringify(text);

/** The plugin that makes `s2s_connect_overrides` work: Prosody's SRV resolver, bypassed for the listed domains. */
const connectPlugin = `-- fedsim test support: outgoing s2s to fixed loopback addresses (s2s_connect_overrides).
module:set_global();
local service = require "net.resolvers.service";
local manual = require "net.resolvers.manual";
local overrides = module:get_option("s2s_connect_overrides", {});
local original = service.new;
service.new = function (hostname, service_name, proto, extra)
	local target = overrides[hostname];
	if target and service_name == "xmpp-server" then
		module:log("debug", "s2s to %s goes to %s:%d", hostname, target[1], target[2]);
		return manual.new({ { "tcp4", target[1], target[2], extra } }, proto, extra);
	end
	return original(hostname, service_name, proto, extra);
end
function module.unload()
	service.new = original;
end
`;

export function prosodyConfig(
  dir: string,
  domain: string,
  c2sPort: number,
  s2sPort: number,
  s2sPeers: Readonly<Record<string, number>>,
  modules: readonly string[],
): string {
  const overrides = Object.entries(s2sPeers)
    .map(([name, port]) => `[${lua(name)}] = { "127.0.0.1", ${port} }`)
    .join('; ');
  const enabled = ['disco', 'ping', 'roster', 'saslauth', 'dialback', 'smacks', 'fedsim_connect', ...modules];
  return [
    `run_as_root = true`,
    `pidfile = ${lua(join(dir, 'prosody.pid'))}`,
    `data_path = ${lua(join(dir, 'data'))}`,
    `plugin_paths = { ${lua(dir)} }`,
    `log = { debug = ${lua(join(dir, 'prosody.log'))} }`,
    `interfaces = { "127.0.0.1" }`,
    `local_interfaces = { "127.0.0.1" }`,
    `c2s_ports = { ${c2sPort} }`,
    `s2s_ports = { ${s2sPort} }`,
    `c2s_direct_tls_ports = { }`,
    `s2s_direct_tls_ports = { }`,
    `http_ports = { }`,
    `https_ports = { }`,
    `modules_enabled = { ${enabled.map(lua).join(', ')} }`,
    `modules_disabled = { "tls", "offline" }`,
    `c2s_require_encryption = false`,
    `s2s_require_encryption = false`,
    `s2s_secure_auth = false`,
    `allow_unencrypted_plain_auth = true`,
    `authentication = "internal_plain"`,
    `storage = "internal"`,
    `s2s_connect_overrides = { ${overrides} }`,
    `VirtualHost ${lua(domain)}`,
    '',
  ].join('\n');
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startProsody(options: ProsodyOptions = {}): Promise<Prosody> {
  const domain = options.domain ?? 'b.test';
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-prosody-'));
  const [c2sPort, s2sPort] = [await freePort(), await freePort()];
  const configFile = join(dir, 'prosody.cfg.lua');
  writeFileSync(join(dir, 'mod_fedsim_connect.lua'), connectPlugin);
  writeFileSync(
    configFile,
    prosodyConfig(dir, domain, c2sPort, s2sPort, options.s2sPeers ?? {}, options.modules ?? []),
  );
  const logText = (): string => {
    try {
      return readFileSync(join(dir, 'prosody.log'), 'utf8');
    } catch {
      return '';
    }
  };
  for (const account of options.accounts ?? []) {
    const registered = spawnSync(
      'prosodyctl',
      ['--config', configFile, 'register', account.local, domain, account.password],
      {
        encoding: 'utf8',
        timeout: startMs,
      },
    );
    if (registered.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `prosodyctl register ${account.local}@${domain} failed: ${registered.stderr}${registered.stdout}`,
      );
    }
  }
  const child: ChildProcess = spawn('prosody', ['-F', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));

  const stop = async (): Promise<void> => {
    if (running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + startMs;
  while (!(await portOpen(c2sPort))) {
    if (!running || Date.now() > deadline) {
      const log = logText();
      await stop();
      throw new Error(`prosody did not open 127.0.0.1:${c2sPort}:\n${output}\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { domain, c2sPort, s2sPort, dir, log: logText, stop };
}
