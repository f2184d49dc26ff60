// The orchestrator's options, typed. `options.ts` reads them from the INI file
// (oslo.config style, the original's names and defaults where they still mean
// something); docs/orchestrator.md lists every one.

export interface ApplianceTlsOptions {
  /** CA that signed the appliances' server certificates. */
  readonly caFile: string;
  /** The orchestrator's client certificate and key, signed by a CA the appliances trust. */
  readonly certFile: string;
  readonly keyFile: string;
}

export interface LocalProviderOptions {
  /** The resource file (YAML or JSON) in Neutron's shapes. */
  readonly resources: string;
  /** The orchestrator's address on the management bridge (default: the management prefix's ::1). */
  readonly managementAddress: string;
  /** The agent's command (argument array, whitespace-separated in the INI file). */
  readonly agentCommand: readonly string[];
  /** Stop every appliance when the orchestrator stops (default false: they keep running and are adopted). */
  readonly stopAppliancesOnExit: boolean;
  /** Certificate and key handed to every appliance's agent, and the CA its clients must be signed by (mutual TLS). */
  readonly agentTls: { readonly certFile: string; readonly keyFile: string; readonly clientCaFile: string } | undefined;
  /** Where the appliances' records and agent state live (default `<state_path>/appliances`; cluster members on one host share it). */
  readonly appliancesPath: string;
}

export interface CoordinationOptions {
  readonly enabled: boolean;
  /** `http://host:port` of each etcd member (`[coordination] url`). */
  readonly endpoints: readonly string[];
  readonly groupId: string;
  readonly heartbeatIntervalS: number;
  /** Seconds a member's lease outlives its last renewal. */
  readonly leaseTtlS: number;
}

/** The OpenStack provider's: Keystone, the service catalogue, RabbitMQ (docs/openstack.md). */
export interface OpenStackOptions {
  /** `[DEFAULT] transport_url` as AMQP URLs, tried in turn; empty when not given. */
  readonly transportUrls: readonly string[];
  /** `[DEFAULT] auth_region`: the catalogue's region; undefined: any. */
  readonly authRegion: string | undefined;
  /** `[DEFAULT] endpoint_type`, as Keystone v3 names the interface. */
  readonly endpointType: 'public' | 'internal' | 'admin';
  /** `[DEFAULT] management_subnet_id`: the subnet of management ports; undefined: Neutron chooses. */
  readonly managementSubnetId: string | undefined;
  /** `[keystone_authtoken]`. */
  readonly authUrl: string;
  readonly username: string;
  readonly password: string;
  readonly projectName: string;
  readonly userDomainName: string;
  readonly projectDomainName: string;
}

export interface OrchestratorOptions {
  /** The file the options came from (config reload re-reads it). */
  readonly configFile: string | undefined;
  readonly host: string;
  readonly networkProvider: 'local' | 'openstack';
  readonly computeProvider: 'local' | 'nova';
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  readonly statePath: string;

  // State machine and health.
  readonly healthCheckPeriodS: number;
  readonly aliveTimeoutS: number;
  readonly configTimeoutS: number;
  readonly maxRetries: number;
  readonly retryDelayS: number;
  readonly rebootErrorThreshold: number;
  readonly errorStateCooldownS: number;
  readonly bootTimeoutS: number;
  readonly hotplugTimeoutS: number;
  readonly queueWarningThreshold: number;

  // Dispatch.
  readonly numWorkerProcesses: number;
  readonly numWorkerThreads: number;
  readonly enabledDrivers: readonly string[];

  // Admin API and metadata.
  readonly apiListen: string;
  /** The file holding the admin API's bearer token; undefined: no token (allowed on loopback only). */
  readonly adminTokenFile: string | undefined;
  readonly apiPort: number;
  readonly astaraMetadataPort: number;

  // The documents pushed to appliances.
  readonly managementNetworkId: string;
  readonly managementPrefix: string;
  readonly asn: number;
  readonly neighborAsn: number;
  readonly providerRulesPath: string;

  /** instanceFlavor: the Nova flavor appliances of the kind boot with (compute_provider = nova). */
  readonly router: { readonly mgtServicePort: number; readonly imageUuid: string | undefined; readonly instanceFlavor: string | undefined; readonly ipsecVpn: boolean };
  readonly loadbalancer: { readonly mgtServicePort: number; readonly imageUuid: string | undefined; readonly instanceFlavor: string | undefined };
  readonly applianceTls: ApplianceTlsOptions | undefined;
  readonly local: LocalProviderOptions;

  // Clustering.
  readonly hashPartitionExponent: number;
  readonly coordination: CoordinationOptions;

  readonly openstack: OpenStackOptions;
}
