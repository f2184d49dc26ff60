// The agent must never lock itself out (spec section 7): a document that would
// remove an address the API listens on, or put it on a network whose firewall
// does not let the management network in, is refused. Nor may the metadata
// proxy's upstream be the API itself: guests would read the agent's API
// through 169.254.169.254.
import { parseAddress, type ConfigModel, type Problem } from '../../contract/index.js';
import type { LiveInterface } from '../host/interfaces.js';

export function lockoutProblems(model: ConfigModel, listenAddresses: readonly string[], live: readonly LiveInterface[]): Problem[] {
  const problems: Problem[] = [];
  for (const listen of listenAddresses) {
    const address = parseAddress(listen);
    if (!address || address.addr.range() === 'unspecified' || address.addr.range() === 'loopback') continue;
    if (model.orchestrator.address.text === address.text) {
      problems.push({ path: '/orchestrator/address', message: `${address.text} is the address the agent's API listens on: guests would reach the API through the metadata proxy` });
    }
    const holder = live.find((i) => i.link.addr_info.some((a) => parseAddress(a.local)?.text === address.text));
    if (!holder) continue;
    const index = model.networks.findIndex((n) => n.ifname === holder.generic);
    if (index < 0) {
      // The firewall only opens the API on the management network's interface.
      problems.push({ path: '/networks', message: `${holder.generic} carries the API address ${address.text} and must be in the document as the management network` });
      continue;
    }
    const network = model.networks[index]!;
    if (!network.addresses.some((a) => a.text === address.text)) {
      problems.push({ path: `/networks/${index}/interface/addresses`, message: `would remove ${address.text}, the address the agent's API listens on` });
    } else if (network.type !== 'management') {
      problems.push({ path: `/networks/${index}/network_type`, message: `${holder.generic} carries the API address ${address.text} and must stay the management network` });
    }
  }
  return problems;
}
