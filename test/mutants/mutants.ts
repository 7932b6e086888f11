/**
 * The project's own mutation suite: realistic bugs, each a small edit of protocol code that breaks
 * a guarantee its spec.md states. `scripts/mutants.ts` applies each one to a scratch copy of the
 * sources, runs a fuzz campaign of its protocol over it and reports which were caught (killed) and
 * which were not (survived), with the mutation score per protocol.
 *
 * A mutant is a text edit: `find` must occur exactly once in `file` (a mutant whose text moved is
 * reported as stale, never silently skipped; test/mutants/mutants.test.ts checks every one).
 * `attacker` marks a bug only an adversarial peer can show: the fuzz profiles' attacker roles
 * (`FuzzProfile.attack`, src/fuzz/commands/attack.ts) are what catch it.
 */
export interface Mutant {
  readonly id: string;
  readonly protocol: 'fmtp' | 'f140' | 'solec' | 'bester' | 'ambrosia';
  /** Relative to the repository root. */
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  /** The guarantee it breaks, with its spec section. */
  readonly breaks: string;
  readonly attacker?: boolean;
}

export const mutants: readonly Mutant[] = [
  // ---- FMTP ----------------------------------------------------------------------------------
  {
    id: 'fmtp-dedup-off',
    protocol: 'fmtp',
    file: 'src/protocols/fmtp/server.ts',
    find: '    if (this.accepted.has(key)) return false;\n',
    replace: '',
    breaks: 'a retried MESSAGE whose ACCEPTED was lost is delivered once (spec.md §8.1)',
  },
  {
    id: 'fmtp-mx-failure-final',
    protocol: 'fmtp',
    file: 'src/protocols/fmtp/machines/relay.ts',
    find: "              { guard: 'canRetry', target: '#relay-waiting', actions: 'storeFailure' },\n              { target: '#relay-failed', actions: 'storeFailure' },",
    replace: "              { target: '#relay-failed', actions: 'storeFailure' },",
    breaks: 'a connection to the MX server that fails or goes unanswered is retried (spec.md §8.1)',
  },
  {
    id: 'fmtp-lookup-failure-final',
    protocol: 'fmtp',
    file: 'src/protocols/fmtp/machines/relay.ts',
    find: "            guard: 'canRetry',\n            target: 'waiting',",
    replace: "            guard: 'canRetry',\n            target: 'failed',",
    breaks: 'a failed lookup is a transient failure, retried (spec.md §8.1)',
  },
  {
    id: 'fmtp-counter-volatile',
    protocol: 'fmtp',
    file: 'src/protocols/fmtp/node.ts',
    find: '    this.host.store.put(transactionsKey, this.transactions);\n',
    replace: '',
    breaks: 'transaction ids never restart after a crash (spec.md §3)',
  },
  {
    id: 'fmtp-deliver-from-recipient',
    protocol: 'fmtp',
    file: 'src/protocols/fmtp/server.ts',
    find: '      user: frame.to,\n      from: frame.from,',
    replace: '      user: frame.to,\n      from: frame.to,',
    breaks: 'a delivery names its authenticated sender (spec.md §7)',
  },
  // ---- F140 ----------------------------------------------------------------------------------
  {
    id: 'f140-dedup-wrong-pair',
    protocol: 'f140',
    file: 'src/protocols/f140/server.ts',
    find: 'if (id !== undefined && context.seen.has(to, from, id)) {',
    replace: 'if (id !== undefined && context.seen.has(from, to, id)) {',
    breaks: 'a MSG accepted again after a lost answer is delivered once (spec.md §4.3)',
  },
  {
    id: 'f140-dedup-off',
    protocol: 'f140',
    file: 'src/protocols/f140/server.ts',
    find: '  if (id !== undefined) context.seen.mark(to, from, id);\n',
    replace: '',
    breaks: 'delivered ids are remembered, so a retry is not delivered twice (spec.md §4.3)',
  },
  {
    id: 'f140-outbox-volatile',
    protocol: 'f140',
    file: 'src/protocols/f140/store.ts',
    find: '    this.store.put(keyOf(this.prefix, message.seq), message);\n',
    replace: '',
    breaks: 'an accepted message is queued durably and survives a crash (spec.md §5)',
  },
  {
    id: 'f140-seq-volatile',
    protocol: 'f140',
    file: 'src/protocols/f140/store.ts',
    find: "  store.put('f140/seq', seq);\n",
    replace: '',
    breaks: 'message ids never repeat after a restart (spec.md §4.3, §5)',
  },
  {
    id: 'f140-refusal-unconfirmed',
    protocol: 'f140',
    file: 'src/protocols/f140/machines/peer.ts',
    find: '        messageAtStake(context) !== undefined &&\n        context.refusedFrom !== context.pending?.from',
    replace:
      '        messageAtStake(context) !== undefined &&\n        context.refusedFrom !== context.pending?.from &&\n        false',
    breaks: 'a refusal drops a message only once a second call confirms it (spec.md §5)',
  },
  {
    id: 'f140-group-member-skipped',
    protocol: 'f140',
    file: 'src/protocols/f140/client.ts',
    find: '    for (const member of members) this.enqueue(command.from, member, command.text, command.group, command);',
    replace:
      '    for (const member of members.slice(1)) this.enqueue(command.from, member, command.text, command.group, command);',
    breaks: 'a broadcast queues one message for every member of the group (spec.md §1)',
  },
  {
    id: 'f140-group-to-every-friend',
    protocol: 'f140',
    file: 'src/protocols/f140/directory.ts',
    find: '    return groups && Object.hasOwn(groups, group) ? groups[group] : undefined;',
    replace:
      '    return groups && Object.hasOwn(groups, group) ? this.users.get(local)?.friends.map((f) => f.user) : undefined;',
    breaks: 'a broadcast reaches the members of the group and no other friend (spec.md §1)',
  },
  {
    id: 'f140-queue-newest-first',
    protocol: 'f140',
    file: 'src/protocols/f140/store.ts',
    find: '    return this.loaded().find((m) => nowMs - m.enqueuedAtMs < expiryMs && this.unfriended?.has(m) !== true);',
    replace:
      '    return this.loaded().findLast((m) => nowMs - m.enqueuedAtMs < expiryMs && this.unfriended?.has(m) !== true);',
    breaks: "a queue is pushed oldest first, so a friend receives one node's messages in order (spec.md §5)",
  },
  // ---- SOLEC ---------------------------------------------------------------------------------
  {
    id: 'solec-dedup-off',
    protocol: 'solec',
    file: 'src/protocols/solec/server.ts',
    find: '    if (this.seen.has(key)) {',
    replace: '    if (this.seen.has(key) && key === "") {',
    breaks: 'a server drops a Message id it already took (spec.md §4.1, §5.3)',
  },
  {
    id: 'solec-client-drops-unanswered',
    protocol: 'solec',
    file: 'src/protocols/solec/machines/client.ts',
    find: '      queue: ({ context }) => (context.inflight ? [context.inflight, ...context.queue] : context.queue),',
    replace: '      queue: ({ context }) => context.queue,',
    breaks: 'a reconnecting client resends its unanswered Message (spec.md §4.1)',
  },
  {
    id: 'solec-relay-no-retry',
    protocol: 'solec',
    file: 'src/protocols/solec/machines/relay.ts',
    find: "        { guard: 'hasAttemptsLeft', target: 'backingOff' },",
    replace: "        { guard: 'hasAttemptsLeft', target: 'failed' },",
    breaks: 'a relay retries a lost link within its attempts (spec.md §5)',
  },
  {
    id: 'solec-mailbox-not-flushed',
    protocol: 'solec',
    file: 'src/protocols/solec/server.ts',
    find: '    for (const message of held) this.push(conn, message);\n',
    replace: '',
    breaks: 'messages held for an offline user go out when it logs in (spec.md §4)',
  },
  {
    id: 'solec-relay-drops-on-timeout',
    protocol: 'solec',
    file: 'src/protocols/solec/machines/relay.ts',
    find: "          after: { responseTimeout: { target: '#relay-retrying', actions: ['closeConnection', 'countFailure'] } },",
    replace:
      "          after: { responseTimeout: { target: '#relay-retrying', actions: ['closeConnection', 'countFailure', 'dropHead'] } },",
    breaks: 'a relayed Message whose answer is lost is sent again, not dropped (spec.md §5.3)',
  },
  // ---- Bester --------------------------------------------------------------------------------
  {
    id: 'bester-sendclients-request-data',
    protocol: 'bester',
    file: 'src/protocols/bester/machines/dispatch.ts',
    find: '        messageType: context.handlerName,\n        data: reply?.data ?? null,',
    replace: '        messageType: context.handlerName,\n        data: context.data,',
    breaks: "sendClients sends the handler reply's data (spec.md §4)",
  },
  {
    id: 'bester-forward-request-data',
    protocol: 'bester',
    file: 'src/protocols/bester/machines/dispatch.ts',
    find: '        data: reply?.data ?? context.data,',
    replace: '        data: context.data,',
    breaks: "sendServers forwards the handler reply's data (spec.md §4)",
  },
  {
    id: 'bester-sendclients-everyone',
    protocol: 'bester',
    file: 'src/protocols/bester/server.ts',
    find: '        if (!event.usernames.includes(username)) continue;\n',
    replace: '',
    breaks: 'sendClients writes to the named clients only (spec.md §4)',
  },
  {
    id: 'bester-deliver-from-self',
    protocol: 'bester',
    file: 'src/protocols/bester/machines/client.ts',
    find: '        user: context.username,\n        from: context.server.host,',
    replace: '        user: context.username,\n        from: context.username,',
    breaks: 'a client takes messages from its server (spec.md §4)',
  },
  // ---- Ambrosia ------------------------------------------------------------------------------
  {
    id: 'ambrosia-resume-skips-one',
    protocol: 'ambrosia',
    file: 'src/protocols/ambrosia/machines/sm.ts',
    find: '    this.write([resumed, ...this.unacked.map((u) => u.stanza)]);',
    replace: '    this.write([resumed, ...this.unacked.slice(1).map((u) => u.stanza)]);',
    breaks: 'a resumption resends every stanza the client did not ack (spec.md §3)',
  },
  {
    id: 'ambrosia-ack-off-by-one',
    protocol: 'ambrosia',
    file: 'src/protocols/ambrosia/machines/sm.ts',
    find: '    const before = this.unacked.length;\n    this.unacked = this.unacked.filter((u) => !counterAtOrBefore(u.seq, h));',
    replace:
      '    const before = this.unacked.length;\n    this.unacked = this.unacked.filter((u) => !counterAtOrBefore(u.seq, h + 1));',
    breaks: 'an ack drops only the stanzas it counts (spec.md §3)',
  },
  {
    id: 'ambrosia-client-count-skips',
    protocol: 'ambrosia',
    file: 'src/protocols/ambrosia/client.ts',
    find: "    if (stanzaNames.has(element.name)) actor.send({ type: 'sm.stanza' });",
    replace: "    if (stanzaNames.has(element.name) && element.name !== 'message') actor.send({ type: 'sm.stanza' });",
    breaks: 'a client counts every stanza it handled in h, so none is resent twice (spec.md §3)',
  },
  {
    id: 'ambrosia-from-unstamped',
    protocol: 'ambrosia',
    file: 'src/protocols/ambrosia/wire.ts',
    find: '  if (from !== undefined) attrs.from = from;',
    replace: '  if (from !== undefined && attrs.from === undefined) attrs.from = from;',
    breaks: "the gateway stamps the sender's full JID over whatever the client wrote (spec.md §6)",
    // Shown by the Ambrosia profile's forging attacker (src/protocols/ambrosia/fuzz.ts `attack`).
    attacker: true,
  },
  {
    id: 'ambrosia-failover-off',
    protocol: 'ambrosia',
    file: 'src/protocols/ambrosia/gateway/index.ts',
    find: '    for (const { stanza } of unacked) {',
    replace: '    for (const { stanza } of unacked.slice(unacked.length)) {',
    breaks: "a service's unacked stanzas fail over to another service when it disconnects (spec.md §4)",
  },
];
