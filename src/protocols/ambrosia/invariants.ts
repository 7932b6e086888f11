/**
 * Ambrosia invariants (src/protocols/ambrosia/spec.md). `ambrosia.authentic`: a client receives
 * only what a client sent, from the JID that client logged in as (the gateway stamps `from` from
 * the authenticated stream, so a client can never speak for another). `ambrosia.registration-owned`:
 * a gateway accepts a service's registration only for a domain that service owns (spec.md
 * "Profiles"); under the faithful `seed` profile a rogue service breaks it.
 */
import { authenticDelivery, damageWriter, type SentMessage } from '../../check/delivery.js';
import { field, list, text, type InvariantFactory, type InvariantNode } from '../../check/context.js';

function sentBy(command: unknown, node: InvariantNode | undefined): SentMessage[] {
  const body = text(field(command, 'body'));
  if (field(command, 'type') !== 'send' || body === undefined) return [];
  return [{ from: text(field(node?.config, 'jid')), to: text(field(command, 'to')), body }];
}

/**
 * Whether `service` owns `domain` at the gateway configured with `gatewayConfig`: the domain is
 * assigned to it in the gateway's `services`, or, where the gateway assigns nothing (the seed's
 * zero configuration), the service's name lies in the domain (`im.a.test` owns `a.test`: seed step 2,
 * "the IM service connects and registers its domain").
 */
export function ownsDomain(gatewayConfig: unknown, service: string, domain: string): boolean {
  const services = field(gatewayConfig, 'services');
  const assigned = services !== null && typeof services === 'object' && Object.keys(services).length > 0;
  if (assigned) return list(field(field(services, service), 'domains')).includes(domain);
  return service === domain || service.endsWith(`.${domain}`);
}

const registrationOwned: InvariantFactory = (context) => {
  const gateways = new Map(
    context.nodes
      .filter((node) => node.protocol === 'ambrosia' && field(node.config, 'role') === 'gateway')
      .map((node) => [node.id, node.config] as const),
  );
  // Under `seed` any service name may register any domain (the flaw): one a corruption wrote into
  // an honest service's stream header is no attacker's (fuzz seeds 1700, 1930, 3404, 3751, 3752
  // and 4183 of a 5,000-run campaign: `im1.a.test` arrived as `im1.a.tes+`).
  const damage = damageWriter();
  return {
    name: 'ambrosia.registration-owned',
    kinds: ['note', 'send', 'receive'],
    observe(event) {
      damage.observe(event);
      if (event.kind !== 'note' || event.what !== 'ambrosia.registered' || !gateways.has(event.node)) return undefined;
      const service = text(field(event.detail, 'service')) ?? '';
      const domain = text(field(event.detail, 'domain')) ?? '';
      if (ownsDomain(gateways.get(event.node), service, domain) || damage.written(service)) return undefined;
      return `${event.node} registered ${service} for ${domain} (${text(field(event.detail, 'type')) ?? '?'}), a domain it does not own: it now gets a share of ${domain}'s traffic`;
    },
  };
};

export const ambrosiaInvariants: Readonly<Record<string, InvariantFactory>> = {
  'ambrosia.authentic': (context) => authenticDelivery('ambrosia.authentic', sentBy, context),
  'ambrosia.registration-owned': registrationOwned,
};
