/** The F140 protocol descriptor (spec.md): HTTP REST node with PING / MSG, friends, groups and queues. */
import type { Protocol } from '../protocol.js';
import { commandSchema, configSchema, type F140Command, type F140Config } from './config.js';
import { F140Node } from './node.js';
import { describe } from './wire.js';
import { nameMessage } from './describe.js';

export type { F140Command, F140Config } from './config.js';
export { F140Node } from './node.js';

export const f140: Protocol<F140Config, F140Command> = {
  name: 'f140',
  configSchema,
  commandSchema,
  createNode: (host, config) => new F140Node(host, config),
  describe,
  nameMessage,
};
