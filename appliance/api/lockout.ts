// The agent must never lock itself out (spec section 7): a document that would
// remove an address the API listens on, or put it on a network whose firewall
// does not let the management network in, is refused. Nor may the metadata
// proxy's upstream be the API itself: guests would read the agent's API
// through 169.254.169.254.
import { parseAddress, type ConfigModel, type Problem } from '../../contract/index.js';

/** The listen addresses a document could take away (not a wildcard nor loopback), in their canonical text. */
export function guardedAddresses(listenAddresses: readonly string[]): string[] {
  return listenAddresses.flatMap((listen) => {
    const address = parseAddress(listen);
    return !address || address.addr.range() === 'unspecified' || address.addr.range() === 'loopback' ? [] : [address.text];
  });
}

/** `holders`: each guarded address (guardedAddresses) -> the generic name of the interface holding it now, if one does. */
export function lockoutProblems(model: ConfigModel, listenAddresses: readonly string[], holders: ReadonlyMap<string, string>): Problem[] {
  const problems: Problem[] = [];
  for (const address of guardedAddresses(listenAddresses)) {
    if (model.orchestrator.address.text === address) {
      problems.push({ path: '/orchestrator/address', message: `${address} is the address the agent's API listens on: guests would reach the API through the metadata proxy` });
    }
    const holder = holders.get(address);
    if (holder === undefined) continue;
    const index = model.networks.findIndex((n) => n.ifname === holder);
    if (index < 0) {
      // The firewall only opens the API on the management network's interface.
      problems.push({ path: '/networks', message: `${holder} carries the API address ${address} and must be in the document as the management network` });
      continue;
    }
    const network = model.networks[index]!;
    if (!network.addresses.some((a) => a.text === address)) {
      problems.push({ path: `/networks/${index}/interface/addresses`, message: `would remove ${address}, the address the agent's API listens on` });
    } else if (network.type !== 'management') {
      problems.push({ path: `/networks/${index}/network_type`, message: `${holder} carries the API address ${address} and must stay the management network` });
    }
  }
  return problems;
}
