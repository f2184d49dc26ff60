// The one way the console puts anything on the page: elements built with
// createElement and text set as text nodes, never HTML parsed from a string,
// so a resource name or an error a tenant chose is shown as it is and never
// becomes markup.

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  readonly class?: string;
  readonly title?: string;
  readonly href?: string;
  readonly type?: string;
  readonly placeholder?: string;
  readonly value?: string;
  readonly colspan?: number;
  /** `data-*` attributes, for the tests and for styling. */
  readonly data?: Readonly<Record<string, string>>;
  readonly onclick?: (event: Event) => void;
  readonly oninput?: (event: Event) => void;
  readonly onsubmit?: (event: Event) => void;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class !== undefined) element.className = props.class;
  if (props.title !== undefined) element.title = props.title;
  if (props.href !== undefined) element.setAttribute('href', props.href);
  if (props.type !== undefined) element.setAttribute('type', props.type);
  if (props.placeholder !== undefined) element.setAttribute('placeholder', props.placeholder);
  if (props.value !== undefined && 'value' in element) (element as HTMLInputElement).value = props.value;
  if (props.colspan !== undefined) element.setAttribute('colspan', String(props.colspan));
  for (const [key, value] of Object.entries(props.data ?? {})) element.dataset[key] = value;
  if (props.onclick) element.addEventListener('click', props.onclick);
  if (props.oninput) element.addEventListener('input', props.oninput);
  if (props.onsubmit) element.addEventListener('submit', props.onsubmit);
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replace everything inside `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** `5 s ago`, `3 min ago`, `2 h ago`. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

/** `12.3 kB/s`. */
export function rate(bytesPerSecond: number): string {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let value = bytesPerSecond;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]!}`;
}
