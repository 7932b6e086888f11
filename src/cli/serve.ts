/**
 * `fedsim serve <protocol> --config <file>`: runs one built-in node on real sockets, so that curl,
 * a raw TCP client, a real XMPP client or another implementation can talk to it. The node code is
 * the one the simulator runs; only the host differs (src/real/host.ts). With `process:` in the
 * config the node is an external process (src/process/), under wall-clock time on real sockets.
 *
 * The config file (YAML or JSON) is `serveConfigSchema` below; `fedsim serve --help` lists its
 * fields from the schema's descriptions.
 * Host limits (src/real/limits.ts, docs/serve.md) go under `limits:`.
 *
 * STARTTLS (`tls:`): the certificate and key files given, or, for a node that offers TLS, a
 * self-signed certificate generated at start; its SHA-256 fingerprint is printed.
 *
 * Errors are one line and exit 2: a missing or malformed config or TLS file, a port already in use (any listen
 * error), an Ambrosia gateway without its own `serviceSecret`, or a service without its `secret`: the simulator's defaults are for
 * scenarios only; a real server that kept them would let anyone register as its service. A served
 * gateway runs the `assigned` profile (only a service's own domains), never `seed`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ProcessNodeError, ScenarioError, UsageError } from '../core/errors.js';
import { protocolNamed, protocolNames } from '../protocols/registry.js';
import { RealHost } from '../real/host.js';
import { realLimitDefaults, realLimitDescriptions, realLimitsSchema } from '../real/limits.js';
import { readCaFile, readTlsFiles, selfSignedTls, type TlsMaterial } from '../real/tls.js';
import { processProtocol } from '../process/node.js';
import { processSpecSchema } from '../process/schema.js';
import { dnsRecordSchema } from '../scenario/schema.js';
import { parseLocated, parseWith, zodProblems } from '../scenario/yaml.js';

export const serveConfigSchema = z.strictObject({
  id: z.string().min(1).describe("the node's id (and its host name, unless `host` is given)"),
  host: z.string().min(1).optional().describe('the host name the node runs as'),
  config: z.unknown().optional().describe("the protocol's node config, as in a scenario's `nodes`"),
  ports: z
    .record(z.string().regex(/^\d+$/, 'a port number'), z.number().int().min(0).max(65_535))
    .optional()
    .describe('node port -> real port (0 picks a free one); unmapped ports bind as they are'),
  peers: z
    .record(z.string(), z.string())
    .optional()
    .describe('where the names the node connects to really are: { b.test: "127.0.0.1:9001" }'),
  dns: z.array(dnsRecordSchema).optional().describe('DNS records: [ { name, type: A|MX|SRV|TXT, value } ]'),
  systemDns: z
    .boolean()
    .optional()
    .describe("names not in `dns` are asked of the system's resolver (SRV, MX, A, TXT; default false)"),
  socketDir: z.string().optional().describe("where the node's UNIX socket paths go"),
  seed: z.number().int().min(0).optional().describe("the node's random stream (default: random)"),
  limits: realLimitsSchema.optional().describe('the host limits (see below; docs/serve.md)'),
  tls: z
    .strictObject({
      cert: z.string().min(1).optional().describe('PEM certificate file'),
      key: z.string().min(1).optional().describe('PEM private key file'),
      certOut: z.string().min(1).optional().describe('write the certificate in use there (PEM), for clients to trust'),
      verifyPeer: z
        .boolean()
        .optional()
        .describe("as a TLS client (outgoing STARTTLS), check the peer's certificate and host name (default false)"),
      ca: z
        .string()
        .min(1)
        .optional()
        .describe("PEM file of the CAs verifyPeer trusts (default: Node's, plus NODE_EXTRA_CA_CERTS)"),
    })
    .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), {
      message: 'give both cert and key, or neither',
    })
    .optional()
    .describe(
      'STARTTLS: { cert, key } files, or a self-signed certificate made at start; { certOut } saves it; { verifyPeer, ca } check the certificates of peers this node connects to',
    ),
  process: processSpecSchema
    .optional()
    .describe(
      'run the node as an external process speaking the process protocol (docs/process-nodes.md): { command: [node, my-node.mjs] }, cwd relative to this file',
    ),
});

/** The config file's fields, for `fedsim serve --help`, from the schema itself. */
export function serveConfigHelp(): string {
  const lines = ['', 'The config file (YAML or JSON) has these fields:'];
  for (const [key, field] of Object.entries(serveConfigSchema.shape)) {
    const optional = field.safeParse(undefined).success;
    lines.push(`  ${(key + (optional ? '' : ' (required)')).padEnd(18)} ${field.description ?? ''}`);
  }
  return lines.join('\n');
}

/** Config keys a served node must set itself, where the simulator's default would be unsafe on a real port. */
function missingServeKeys(protocolName: string, config: unknown): string[] {
  if (protocolName !== 'ambrosia' || typeof config !== 'object' || config === null) return [];
  const block = config as Record<string, unknown>;
  if (block.role === 'gateway' && block.serviceSecret === undefined) return ['serviceSecret'];
  if (block.role === 'service' && block.secret === undefined) return ['secret'];
  return [];
}

/**
 * A served Ambrosia gateway runs the `assigned` profile (spec.md "Profiles"): a service registers
 * only the domains its `services` entry lists. The faithful `seed` profile, where any service takes
 * any domain, is for scenarios; asking serve for it is an error.
 */
function serveDefaults(protocolName: string, config: unknown, file: string): unknown {
  if (protocolName !== 'ambrosia' || typeof config !== 'object' || config === null) return config;
  const block = config as Record<string, unknown>;
  if (block.role !== 'gateway') return config;
  if (block.profile === 'seed')
    throw new UsageError(
      `${file}: config.profile: serve runs the assigned profile (under seed any service could register any domain)`,
    );
  return { profile: 'assigned', ...block };
}

/** A node that offers STARTTLS and so needs a certificate as a TLS server (an Ambrosia gateway with `tls` on). */
function needsCertificate(protocolName: string, config: unknown): boolean {
  if (protocolName !== 'ambrosia' || typeof config !== 'object' || config === null) return false;
  const block = config as Record<string, unknown>;
  return block.role === 'gateway' && block.tls !== undefined && block.tls !== 'off';
}

export interface ServeOptions {
  readonly config: string;
  readonly bind: string;
  readonly trace?: string;
}

/** Loads and validates a serve config for `protocolName`; every problem is located. */
export async function loadServeConfig(
  protocolName: string,
  file: string,
  trace?: string,
  onProcessFailure?: (error: ProcessNodeError) => void,
): Promise<{ host: RealHost; describe: string; tls: string[] }> {
  const protocol = protocolNamed(protocolName);
  if (!protocol) throw new UsageError(`unknown protocol ${protocolName} (known: ${protocolNames().join(', ')})`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read the config file ${file}`);
  }
  const settings = parseWith(serveConfigSchema, text, file);
  for (const key of missingServeKeys(protocolName, settings.config))
    throw new UsageError(`${file}: config.${key}: required by serve (the built-in default is for simulation only)`);
  const nodeConfig = protocol.configSchema.safeParse(serveDefaults(protocolName, settings.config, file));
  if (!nodeConfig.success) {
    const { locator } = parseLocated(text, file);
    throw new ScenarioError(zodProblems(locator, ['config'], nodeConfig.error));
  }
  const hostName = settings.host ?? settings.id;
  // STARTTLS: the configured files, else (where the node offers TLS) a certificate made now.
  let material: TlsMaterial | undefined;
  const tls: string[] = [];
  if (settings.tls?.cert !== undefined && settings.tls.key !== undefined) {
    material = readTlsFiles(settings.tls.cert, settings.tls.key);
    tls.push(`TLS certificate ${settings.tls.cert}, SHA-256 fingerprint ${material.fingerprint256}`);
  } else if (settings.tls !== undefined || needsCertificate(protocolName, settings.config)) {
    material = await selfSignedTls([hostName]);
    tls.push(`TLS certificate self-signed for ${hostName}, SHA-256 fingerprint ${material.fingerprint256}`);
  }
  if (material && settings.tls?.certOut !== undefined) {
    try {
      writeFileSync(settings.tls.certOut, material.cert);
    } catch {
      throw new UsageError(`cannot write the TLS certificate to ${settings.tls.certOut}`);
    }
    tls.push(`TLS certificate written to ${settings.tls.certOut}`);
  }
  const portMap = Object.fromEntries(Object.entries(settings.ports ?? {}).map(([from, to]) => [Number(from), to]));
  const runs = settings.process
    ? processProtocol(protocol, settings.process, { baseDir: dirname(resolve(file)) })
    : protocol;
  const host = new RealHost({
    id: settings.id,
    hostName,
    protocol: runs,
    config: nodeConfig.data,
    portMap,
    ...(settings.peers ? { peers: settings.peers } : {}),
    ...(settings.dns ? { dns: settings.dns } : {}),
    ...(settings.systemDns ? { systemDns: true } : {}),
    ...(settings.socketDir ? { socketDir: settings.socketDir } : {}),
    ...(settings.seed === undefined ? {} : { seed: settings.seed }),
    ...(settings.limits ? { limits: settings.limits } : {}),
    ...(trace === undefined ? {} : { trace: { file: trace } }),
    ...(material || settings.tls?.verifyPeer !== undefined
      ? {
          tls: {
            ...(material ? { cert: material.cert, key: material.key } : {}),
            ...(settings.tls?.verifyPeer === undefined ? {} : { verifyPeer: settings.tls.verifyPeer }),
            ...(settings.tls?.ca === undefined ? {} : { ca: readCaFile(settings.tls.ca) }),
          },
        }
      : {}),
    log: (line) => console.log(`${settings.id}: ${line}`),
    ...(onProcessFailure ? { onProcessFailure } : {}),
  });
  const kind = settings.process ? ` (external process ${JSON.stringify(settings.process.command.join(' '))})` : '';
  return { host, describe: `${protocolName} node ${settings.id}${kind}`, tls };
}

export async function serveCommand(protocolName: string, options: ServeOptions): Promise<number> {
  // An external node process that breaks the process protocol ends the server with exit 3.
  let failed: ((error: ProcessNodeError) => void) | undefined;
  const { host, describe, tls } = await loadServeConfig(protocolName, options.config, options.trace, (error) =>
    failed?.(error),
  );
  let listening;
  try {
    listening = await host.start();
  } catch (error) {
    await host.close();
    const failure = error as NodeJS.ErrnoException & { address?: string; port?: number };
    const where = failure.port === undefined ? (failure.address ?? '?') : `${failure.address ?? '?'}:${failure.port}`;
    const reason = failure.code === 'EADDRINUSE' ? 'address already in use' : (failure.code ?? failure.message);
    throw new UsageError(`cannot listen on ${where}: ${reason}`);
  }
  for (const endpoint of listening) console.log(`fedsim: ${describe} listening on ${endpoint.address}`);
  if (listening.length === 0) console.log(`fedsim: ${describe} started (it listens on nothing)`);
  for (const line of tls) console.log(`fedsim: ${line}`);
  console.log('fedsim: press Ctrl-C to stop');
  reportMemoryOnSignal();
  const code = await new Promise<number>((resolve) => {
    failed = (error) => {
      console.error(`fedsim: ${error.message}`);
      resolve(3);
    };
    process.once('SIGINT', () => resolve(0));
    process.once('SIGTERM', () => resolve(0));
  });
  await host.close();
  if (options.trace) console.log(`fedsim: trace written to ${options.trace}`);
  return code;
}

/**
 * Measurement only: under `node --expose-gc`, SIGUSR2 runs a full garbage collection and prints
 * the process's memory (RSS, V8 heap, external and ArrayBuffer bytes), so that memory left after an
 * attack can be told apart as live JS objects or allocator slack (docs/serve.md). Without
 * `--expose-gc` nothing is installed.
 */
function reportMemoryOnSignal(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return;
  process.on('SIGUSR2', () => {
    const before = process.memoryUsage();
    gc();
    const after = process.memoryUsage();
    const mb = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`;
    console.log(
      `fedsim: memory before gc: rss ${mb(before.rss)} heapUsed ${mb(before.heapUsed)} heapTotal ${mb(before.heapTotal)} external ${mb(before.external)} arrayBuffers ${mb(before.arrayBuffers)}`,
    );
    console.log(
      `fedsim: memory after gc: rss ${mb(after.rss)} heapUsed ${mb(after.heapUsed)} heapTotal ${mb(after.heapTotal)} external ${mb(after.external)} arrayBuffers ${mb(after.arrayBuffers)}`,
    );
  });
}

/** The limits part of `serve --help`: each key of the config's `limits:` block, its default and what it bounds. */
export function serveLimitsHelp(): string {
  const rows = Object.entries(realLimitDescriptions).map(
    ([key, text]) => `  ${key} (${realLimitDefaults[key as keyof typeof realLimitDefaults]}): ${text}`,
  );
  return `\nLimits (config key limits.<name>, default in parentheses):\n${rows.join('\n')}\n`;
}
