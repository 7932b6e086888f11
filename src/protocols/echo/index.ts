/** The echo protocol descriptor: a test-only protocol that proves the sans-IO contract. */
import { z } from 'zod';
import type { Protocol } from '../protocol.js';
import { definePlugin } from '../plugin.js';
import { EchoNode, type EchoCommand, type EchoConfig } from './node.js';
import { describe } from './wire.js';

const configSchema = z
  .strictObject({
    port: z.number().int().min(1).max(65_535).default(7),
    idleMs: z.number().int().min(1).default(5_000),
    retryMs: z.number().int().min(1).default(500),
    attemptsMax: z.number().int().min(1).max(100).default(4),
  })
  .default({ port: 7, idleMs: 5_000, retryMs: 500, attemptsMax: 4 });

const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('send'), to: z.string().min(1), body: z.string() }),
  z.strictObject({ type: z.literal('datagram'), to: z.string().min(1), body: z.string() }),
]);

export const echo: Protocol<EchoConfig, EchoCommand> = {
  name: 'echo',
  configSchema,
  commandSchema,
  createNode: (host, config) => new EchoNode(host, config),
  describe,
};

/** The plugin: echo has no invariants, fuzz profile or conformance suite of its own. */
export default definePlugin({ protocol: echo });
