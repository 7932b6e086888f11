/** Bester conformance case on the informer socket (spec.md §6). */
import { encodeFrame } from '../wire.js';
import type { Peer } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { paths, port, target } from './fixture.js';
import { ask, expectReply, expectSilentClose, login, same, show, withLocal } from './helpers.js';

export const informerCases: Case<Peer>[] = [
  {
    id: 'bester/6/informer',
    title: 'The informer answers listClients, isClient, serverInfo, status 1 for unknown requests; quit ends it',
    section: '6, 7',
    quote:
      'Request {"command":{"type","data"}}, reply {"status":"0","data":...}: listClients (usernames, each once), isClient (data = username; bool), serverInfo …, quit (the server closes the session).',
    requirements: ['BESTER-6-informer', 'BESTER-7-bug3-isclient'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        await login(peer, 'alice');
        await login(peer, 'bob');
        await login(peer, 'bob');
        const informer = await local.connect(paths.informer, { timeoutMs: peer.answerMs });
        if (!informer) fail('the informer refused', `a connection to ${paths.informer}`, 'refused');
        const list = await ask(peer, informer, 'listClients');
        const names =
          typeof list === 'object' && list !== null && 'data' in list && Array.isArray(list.data)
            ? [...(list.data as unknown[])].sort()
            : list;
        if (!same(names, ['alice', 'bob']) || !same((list as { status?: unknown }).status, '0'))
          fail('listClients is wrong', '{"status":"0","data":["alice","bob"]} in any order', show(list));
        await expectReply(peer, informer, 'isClient', 'alice', { status: '0', data: true });
        await expectReply(peer, informer, 'isClient', 'zed', { status: '0', data: false });
        await expectReply(peer, informer, 'serverInfo', undefined, {
          status: '0',
          data: {
            clientCount: '3',
            adminInfo: { operator: 'conformance' },
            listeners: { listener0: { address: `tcp4://${target}:${port}` } },
          },
        });
        await expectReply(peer, informer, 'reboot', undefined, { status: '1', data: null });
        await informer.send(encodeFrame({ command: { type: 'quit' } }));
        await expectSilentClose(informer, peer.answerMs, 'quit did not end the informer session');
      });
    },
  },
];
