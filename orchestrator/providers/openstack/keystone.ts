// Keystone v3 password authentication for the OpenStack provider: a
// project-scoped token, renewed before it expires, and the service catalogue
// it carries (Neutron's and Nova's endpoints). The pure parts (request body,
// response parsing, endpoint choice, renewal time) are functions; the
// session is the imperative shell around them.
import { request } from 'undici';

/** `[keystone_authtoken]`, `[DEFAULT] auth_region` and `endpoint_type`, as the orchestrator's INI file gives them. */
export interface KeystoneOptions {
  readonly authUrl: string;
  readonly username: string;
  readonly password: string;
  readonly projectName: string;
  readonly userDomainName: string;
  readonly projectDomainName: string;
  /** Only endpoints of this region; undefined: the first endpoint of the service, whatever its region. */
  readonly region: string | undefined;
  readonly endpointType: EndpointInterface;
}

export type EndpointInterface = 'public' | 'internal' | 'admin';

/** oslo's `publicURL` style and Keystone v3's `public` style; undefined for anything else. */
export function endpointInterfaceOf(value: string): EndpointInterface | undefined {
  const name = value.toLowerCase().replace(/url$/, '');
  return name === 'public' || name === 'internal' || name === 'admin' ? name : undefined;
}

export interface CatalogEndpoint {
  readonly interface: string;
  readonly region_id?: string | null;
  readonly region?: string | null;
  readonly url: string;
}

export interface CatalogService {
  readonly type: string;
  readonly name?: string;
  readonly endpoints: readonly CatalogEndpoint[];
}

/** A token's times are on this machine's clock (Keystone's may differ): its lifetime counted from its arrival. */
export interface Token {
  readonly value: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly catalog: readonly CatalogService[];
}

/** Keystone's identity URL with `/v3`, whether the option names the server or its v3 API. */
export function identityUrl(authUrl: string): string {
  const trimmed = authUrl.replace(/\/+$/, '');
  return /\/v3$/.test(trimmed) ? trimmed : `${trimmed}/v3`;
}

export function passwordAuthBody(options: KeystoneOptions): unknown {
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: options.username, domain: { name: options.userDomainName }, password: options.password } },
      },
      scope: { project: { name: options.projectName, domain: { name: options.projectDomainName } } },
    },
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The token of a `POST /v3/auth/tokens` answer that arrived at `receivedAt`; throws naming what is missing. */
export function parseTokenResponse(subjectToken: string | undefined, body: unknown, receivedAt: number): Token {
  if (!subjectToken) throw new Error('Keystone answered without an X-Subject-Token header');
  const token = isRecord(body) ? body['token'] : undefined;
  if (!isRecord(token)) throw new Error('Keystone answered without a token object');
  const issuedAt = Date.parse(String(token['issued_at']));
  const expiresAt = Date.parse(String(token['expires_at']));
  if (Number.isNaN(issuedAt) || Number.isNaN(expiresAt)) throw new Error('Keystone\'s token has no valid issued_at or expires_at');
  const catalog = Array.isArray(token['catalog']) ? (token['catalog'] as CatalogService[]) : [];
  return { value: subjectToken, issuedAt: receivedAt, expiresAt: receivedAt + Math.max(0, expiresAt - issuedAt), catalog };
}

/** The URL of `serviceType`'s endpoint of the wanted interface (and region, when one is set), without a trailing slash. */
export function findEndpoint(catalog: readonly CatalogService[], serviceType: string, endpointInterface: EndpointInterface, region: string | undefined): string {
  const service = catalog.find((s) => s.type === serviceType);
  if (!service) throw new Error(`the service catalogue has no ${serviceType} service`);
  const endpoint = service.endpoints.find(
    (e) => e.interface === endpointInterface && (region === undefined || (e.region_id ?? e.region) === region),
  );
  if (!endpoint) {
    throw new Error(`the service catalogue has no ${endpointInterface} endpoint of ${serviceType}${region === undefined ? '' : ` in region ${region}`}`);
  }
  return endpoint.url.replace(/\/+$/, '');
}

/** The most a token is renewed ahead of its expiry. */
export const MAX_RENEWAL_MARGIN_MS = 120_000;

/**
 * When to get a new token: a quarter of its lifetime before it expires, at
 * most two minutes before; so that no request carries a token that expires on
 * its way, even when tokens live only seconds.
 */
export function renewalTime(token: Pick<Token, 'issuedAt' | 'expiresAt'>): number {
  const lifetime = Math.max(0, token.expiresAt - token.issuedAt);
  return token.expiresAt - Math.min(MAX_RENEWAL_MARGIN_MS, lifetime / 4);
}

export interface ServiceResponse {
  readonly status: number;
  readonly body: unknown;
}

/** A failed OpenStack API call: the service, the request and what came back. */
export class OpenStackApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    readonly detail: string,
  ) {
    super(`${method} ${url}: HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'OpenStackApiError';
  }
}

/** What an error body says (`{"NeutronError": {"message"}}`, `{"error": {"message"}}`, `{"badRequest": {"message"}}`...). */
export function errorDetail(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 300);
  if (!isRecord(body)) return '';
  for (const value of Object.values(body)) {
    if (isRecord(value) && typeof value['message'] === 'string') return value['message'];
  }
  return JSON.stringify(body).slice(0, 300);
}

const REQUEST_TIMEOUT_MS = 30_000;

async function readBody(body: { text(): Promise<string> }): Promise<unknown> {
  const text = await body.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * One Keystone identity: a token (fetched on first use, renewed at
 * renewalTime or when a service answers 401), and calls to the services of its
 * catalogue with it.
 */
export class KeystoneSession {
  #token: Token | undefined;
  #pending: Promise<Token> | undefined;
  /** Tokens fetched so far (for the log and the tests of renewal). */
  #issued = 0;

  constructor(
    private readonly options: KeystoneOptions,
    private readonly now: () => number = Date.now,
  ) {}

  get tokensIssued(): number {
    return this.#issued;
  }

  /** A valid token, renewed first when its renewal time has come. */
  async token(): Promise<Token> {
    const current = this.#token;
    if (current && this.now() < renewalTime(current)) return current;
    return this.#authenticate();
  }

  /** The endpoint of a service type (`network`, `compute`) for the configured interface and region. */
  async endpoint(serviceType: string): Promise<string> {
    const token = await this.token();
    return findEndpoint(token.catalog, serviceType, this.options.endpointType, this.options.region);
  }

  /**
   * `method path` on a service of the catalogue, JSON in and out. A 401 gets
   * one retry with a new token (a token revoked before its expiry); other
   * answers of 400 and above throw OpenStackApiError.
   */
  async call(serviceType: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ServiceResponse> {
    let answer = await this.#send(serviceType, method, path, body, headers, await this.token());
    if (answer.status === 401) answer = await this.#send(serviceType, method, path, body, headers, await this.#authenticate());
    if (answer.status >= 400) throw new OpenStackApiError(answer.status, method, `${serviceType}${path}`, errorDetail(answer.body));
    return answer;
  }

  async #send(serviceType: string, method: string, path: string, body: unknown, headers: Record<string, string>, token: Token): Promise<ServiceResponse> {
    const url = findEndpoint(token.catalog, serviceType, this.options.endpointType, this.options.region) + path;
    const response = await request(url, {
      method: method as 'GET',
      headers: { 'x-auth-token': token.value, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    return { status: response.statusCode, body: await readBody(response.body) };
  }

  /** One password authentication at a time: concurrent callers share it. */
  #authenticate(): Promise<Token> {
    this.#pending ??= this.#passwordToken().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #passwordToken(): Promise<Token> {
    const url = `${identityUrl(this.options.authUrl)}/auth/tokens`;
    const sentAt = this.now();
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(passwordAuthBody(this.options)),
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    const body = await readBody(response.body);
    if (response.statusCode !== 201) {
      throw new OpenStackApiError(response.statusCode, 'POST', url, `password authentication of ${this.options.username} failed: ${errorDetail(body)}`);
    }
    const subject = response.headers['x-subject-token'];
    // Counted from the request's start: the token cannot have been issued before it.
    this.#token = parseTokenResponse(Array.isArray(subject) ? subject[0] : subject, body, sentAt);
    this.#issued += 1;
    return this.#token;
  }
}
