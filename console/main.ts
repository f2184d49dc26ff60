// The operator console: one page, three views chosen by the URL's fragment
// (`#/` the fleet, `#/resource/ID`, `#/workers`), fed by the admin API's live
// feed. Everything it needs is bundled into the orchestrator's package.
import { followFeed, setToken } from './api.js';
import { h, replace } from './dom.js';
import { fleetView } from './fleet.js';
import { resourceView } from './resource.js';
import { Store } from './store.js';
import './style.css';
import { workersView } from './workers.js';

const store = new Store();
const main = h('main');
const live = h('span', { class: 'live', data: { role: 'live' } }, 'connecting…');
const tokenForm = h('form', { class: 'token hidden', data: { role: 'token-form' } });
const tokenInput = h('input', { type: 'password', placeholder: 'admin token', data: { role: 'token' } });
replace(tokenForm, h('label', {}, 'This orchestrator asks for its admin token: ', tokenInput), h('button', { type: 'submit' }, 'Use it'));
tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  setToken(tokenInput.value.trim());
  tokenInput.value = '';
  tokenForm.classList.add('hidden');
  route();
});
const askToken = () => tokenForm.classList.remove('hidden');

document.body.append(
  h(
    'header',
    {},
    h('h1', {}, h('a', { href: '#/' }, 'Astara')),
    h('nav', {}, h('a', { href: '#/', data: { nav: 'fleet' } }, 'Fleet'), h('a', { href: '#/workers', data: { nav: 'workers' } }, 'Workers')),
    live,
  ),
  tokenForm,
  main,
);

let shownStatus: Store['status'] | undefined;
store.subscribe(() => {
  if (store.status === shownStatus) return;
  shownStatus = store.status;
  live.textContent = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', unauthorized: 'token needed' }[store.status];
  live.className = `live ${store.status}`;
  // Asked when the feed is refused, put away once it flows.
  if (store.status === 'unauthorized') askToken();
  if (store.status === 'live') tokenForm.classList.add('hidden');
});

let current: { element: HTMLElement; dispose: () => void } | undefined;

function route(): void {
  current?.dispose();
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  if (hash.startsWith('resource/')) current = resourceView(store, hash.slice('resource/'.length), askToken);
  else if (hash === 'workers') current = workersView(store);
  else current = fleetView(store);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) link.classList.toggle('current', link.dataset.nav === (hash === 'workers' ? 'workers' : 'fleet'));
  replace(main, current.element);
}

window.addEventListener('hashchange', route);
route();
void followFeed({
  onSnapshot: (resources, workers) => store.snapshot(resources, workers),
  onResource: (resource) => store.update(resource),
  onRemoved: (id) => store.remove(id),
  onWorkers: (workers) => store.setWorkers(workers),
  onStatus: (status) => store.setStatus(status),
});
