#!/usr/bin/env bash
# A real OpenStack control plane for the OpenStack provider's tests: RabbitMQ,
# MariaDB, Keystone (under uWSGI) and neutron-server from Debian 12's packages,
# every one listening on 127.0.0.1 only, without systemd.
#
#   scripts/openstack.sh up       configure, initialise the databases once, start what is not running
#   scripts/openstack.sh up --nova   the same, plus Placement, Glance and Nova (one fake compute host)
#   scripts/openstack.sh down     stop exactly what `up` started (by the PIDs it recorded)
#   scripts/openstack.sh status   what runs, and where
#   scripts/openstack.sh env      shell variables with the test accounts and endpoints
#
# `up` is idempotent and cheap when everything already runs. The packages come
# from scripts/setup.sh. Environment: ASTARA_OS_TOKEN_EXPIRATION, Keystone's
# token lifetime in seconds (default 30: the tests prove token renewal);
# ASTARA_OPENSTACK_NOVA=1 is `up --nova`.
set -euo pipefail
cd "$(dirname "$0")/openstack"   # the configuration files it installs

RUN=/run/astara-openstack            # PID files
STATE=/var/lib/astara-openstack      # "already initialised" markers, as long-lived as the databases
LOG=/var/log/astara-openstack        # the daemons' stdout and stderr
TOKEN_EXPIRATION=${ASTARA_OS_TOKEN_EXPIRATION:-30}
KEYSTONE=http://127.0.0.1:5000
NEUTRON=http://127.0.0.1:9696
ADMIN_PASSWORD=admin-secret
NEUTRON_PASSWORD=neutron-secret
ORCHESTRATOR_PASSWORD=orchestrator-secret
DEMO_PASSWORD=demo-secret
SHIM_DIR=/usr/local/lib/python3.11/dist-packages/neutron_status_shim
NOVA=${ASTARA_OPENSTACK_NOVA:-0}
NOVA_API=http://127.0.0.1:8774/v2.1
PLACEMENT=http://127.0.0.1:8778
GLANCE=http://127.0.0.1:9292
NOVA_SERVICES=(placement glance nova-api nova-conductor nova-scheduler nova-compute)
# What the nova-compute package would install; that package depends on libvirt and QEMU, which the fake driver does not need.
NOVA_COMPUTE=/usr/local/lib/astara-openstack/nova-compute
COMPUTE_HOST=compute-1

log() { printf '[openstack.sh %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { echo "openstack.sh: $*" >&2; exit 1; }
running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
await() { # await SECONDS COMMAND...: until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out waiting for: $*"
    sleep 0.25
  done
}
# keystone-manage and friends print eventlet noise at interpreter exit.
quiet() { grep -vE 'Exception ignored|Traceback|File "|eventlet|getcurrent|^\s|not provided in the command line' || true; }

check_packages() {
  local missing=() p
  for p in rabbitmq-server mariadb-server keystone neutron-server python3-pymysql uwsgi-plugin-python3 jq curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "$NOVA" = 1 ]; then
    for p in nova-api nova-conductor nova-scheduler placement-api glance-api; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
  fi
  [ ${#missing[@]} -eq 0 ] || die "missing Debian packages (run scripts/setup.sh): ${missing[*]}"
}

# Replaces the packages' files wholesale: Debian's defaults configure nothing
# usable non-interactively (empty [database], regionOne, every interface).
configure() {
  install -m 644 rabbitmq-env.conf /etc/rabbitmq/rabbitmq-env.conf
  install -m 644 rabbitmq.conf /etc/rabbitmq/rabbitmq.conf
  install -m 644 mariadb.cnf /etc/mysql/mariadb.conf.d/99-astara-openstack.cnf
  sed "s/@TOKEN_EXPIRATION@/$TOKEN_EXPIRATION/" keystone.conf >/etc/keystone/keystone.conf
  chown keystone:keystone /etc/keystone/keystone.conf
  chmod 640 /etc/keystone/keystone.conf
  install -m 640 -o root -g neutron neutron.conf /etc/neutron/neutron.conf
  install -m 640 -o root -g neutron ml2_conf.ini /etc/neutron/plugins/ml2/ml2_conf.ini
  install -d -o neutron -g neutron /var/lib/neutron/lock
  install -d "$SHIM_DIR/extensions"
  install -m 644 neutron_status_shim/__init__.py neutron_status_shim/plugin.py "$SHIM_DIR/"
  install -m 644 neutron_status_shim/extensions/__init__.py neutron_status_shim/extensions/dhrouterstatus.py "$SHIM_DIR/extensions/"
}

start() { # start NAME COMMAND...: in its own session, PID recorded
  (
    # The daemons outlive this script: none may keep a descriptor it inherited
    # (a lock the caller holds, a test runner's pipe), or that stays held too.
    for fd in $(ls /proc/$BASHPID/fd); do
      [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done
    exec setsid "${@:2}" >"$LOG/$1.out" 2>&1
  ) &
  echo $! >"$RUN/$1.pid"
}

start_rabbitmq() {
  running rabbitmq && return 0
  log "starting rabbitmq"
  start rabbitmq /usr/sbin/rabbitmq-server
  await 60 rabbitmqctl -q await_startup
  # oslo.messaging's notifier declares and fills a queue named notifications.info whether or not anyone reads it.
  rabbitmqctl -q set_policy notifications-cap '^notifications\.' '{"max-length":10000}' --apply-to queues >/dev/null
}

start_mariadb() {
  running mariadb && return 0
  log "starting mariadb"
  install -d -o mysql -g mysql /run/mysqld
  start mariadb /usr/sbin/mariadbd --user=mysql
  await 60 mariadb -uroot -e 'select 1'
}

start_keystone() {
  running keystone && return 0
  log "starting keystone"
  # uWSGI's --http-socket closes each connection without saying so; keystoneauth (in
  # neutron-server) then reuses a dead socket and answers 503. The header makes clients reconnect.
  start keystone uwsgi_python3 --http-socket 127.0.0.1:5000 --wsgi-file /usr/bin/keystone-wsgi-public \
    --master --processes 2 --threads 1 --uid keystone --gid keystone --buffer-size 65535 \
    --die-on-term --lazy-apps --need-app --chdir /var/lib/keystone --add-header 'Connection: close'
  await 60 curl -sf "$KEYSTONE/v3"
}

start_neutron() {
  running neutron && return 0
  log "starting neutron-server"
  start neutron setpriv --reuid=neutron --regid=neutron --init-groups /usr/bin/neutron-server \
    --config-file /etc/neutron/neutron.conf --config-file /etc/neutron/plugins/ml2/ml2_conf.ini
  await 120 curl -sf "$NEUTRON/"
}

init_databases() {
  [ -f "$STATE/databases" ] && return 0
  log "creating the databases and schemas"
  mariadb -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS keystone; CREATE DATABASE IF NOT EXISTS neutron;
CREATE USER IF NOT EXISTS 'keystone'@'127.0.0.1' IDENTIFIED BY 'keystone-db';
CREATE USER IF NOT EXISTS 'neutron'@'127.0.0.1' IDENTIFIED BY 'neutron-db';
GRANT ALL ON keystone.* TO 'keystone'@'127.0.0.1'; GRANT ALL ON neutron.* TO 'neutron'@'127.0.0.1';
SQL
  su -s /bin/sh keystone -c 'keystone-manage db_sync' 2>&1 | quiet
  keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone 2>&1 | quiet
  keystone-manage credential_setup --keystone-user keystone --keystone-group keystone 2>&1 | quiet
  su -s /bin/sh keystone -c "keystone-manage bootstrap --bootstrap-password $ADMIN_PASSWORD \
    --bootstrap-admin-url $KEYSTONE/v3/ --bootstrap-internal-url $KEYSTONE/v3/ --bootstrap-public-url $KEYSTONE/v3/ \
    --bootstrap-region-id RegionOne" 2>&1 | quiet
  su -s /bin/sh neutron -c 'neutron-db-manage --config-file /etc/neutron/neutron.conf \
    --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads' >"$LOG/neutron-db-manage.log" 2>&1 \
    || { tail -20 "$LOG/neutron-db-manage.log"; die "neutron-db-manage failed"; }
  touch "$STATE/databases"
}

token() { # token USER PASSWORD PROJECT: a project-scoped token
  curl -sf -D - -o /dev/null -H 'Content-Type: application/json' "$KEYSTONE/v3/auth/tokens" -d "$(jq -nc \
    --arg u "$1" --arg p "$2" --arg project "$3" '{auth: {identity: {methods: ["password"], password: {user:
    {name: $u, domain: {id: "default"}, password: $p}}}, scope: {project: {name: $project, domain: {id: "default"}}}}}')" \
    | awk -F': ' 'tolower($1) == "x-subject-token" { print $2 }' | tr -d '\r'
}

identity() { # identity METHOD PATH [JSON] with the admin token in $ADMIN_TOKEN
  curl -sf -X "$1" -H "X-Auth-Token: $ADMIN_TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"} "$KEYSTONE/v3$2"
}

create_user() { # create_user NAME PASSWORD -> id
  identity POST /users "$(jq -nc --arg n "$1" --arg p "$2" '{user: {name: $n, domain_id: "default", password: $p}}')" | jq -r .user.id
}

init_identity() {
  [ -f "$STATE/identity" ] && return 0
  log "creating the Keystone projects, users and the network endpoint"
  ADMIN_TOKEN=$(token admin "$ADMIN_PASSWORD" admin)
  local admin member service service_project demo_project user network
  admin=$(identity GET '/roles?name=admin' | jq -r '.roles[0].id')
  member=$(identity GET '/roles?name=member' | jq -r '.roles[0].id')
  service=$(identity POST /roles '{"role":{"name":"service"}}' | jq -r .role.id)
  service_project=$(identity POST /projects '{"project":{"name":"service","domain_id":"default"}}' | jq -r .project.id)
  demo_project=$(identity POST /projects '{"project":{"name":"demo","domain_id":"default"}}' | jq -r .project.id)
  user=$(create_user neutron "$NEUTRON_PASSWORD")
  identity PUT "/projects/$service_project/users/$user/roles/$admin"
  identity PUT "/projects/$service_project/users/$user/roles/$service"
  # The orchestrator sees every tenant's resources: admin in the service project.
  user=$(create_user orchestrator "$ORCHESTRATOR_PASSWORD")
  identity PUT "/projects/$service_project/users/$user/roles/$admin"
  # An ordinary tenant, whose requests produce tenant-shaped notifications.
  user=$(create_user demo "$DEMO_PASSWORD")
  identity PUT "/projects/$demo_project/users/$user/roles/$member"
  network=$(identity POST /services '{"service":{"name":"neutron","type":"network"}}' | jq -r .service.id)
  local interface
  for interface in public internal admin; do
    identity POST /endpoints "$(jq -nc --arg s "$network" --arg i "$interface" --arg u "$NEUTRON" \
      '{endpoint: {service_id: $s, interface: $i, url: $u, region_id: "RegionOne"}}')" >/dev/null
  done
  touch "$STATE/identity"
}

# ---- the Nova add-on (up --nova): Placement, Glance, Nova with one compute host of the fake driver

nova_running() {
  local service
  for service in "${NOVA_SERVICES[@]}"; do running "$service" || return 1; done
}

configure_nova() {
  install -m 640 -o root -g placement placement.conf /etc/placement/placement.conf
  install -m 640 -o root -g glance glance-api.conf /etc/glance/glance-api.conf
  install -m 640 -o root -g nova nova.conf /etc/nova/nova.conf
  install -d -o glance -g glance /var/lib/glance/images /var/lib/glance/lock
  install -d -o nova -g nova /var/lib/nova/lock /var/lib/nova/instances
  install -d "$(dirname "$NOVA_COMPUTE")"
  # Named nova-compute, so that oslo.log names its file nova-compute.log.
  printf '#!/usr/bin/python3\nimport sys\nfrom nova.cmd.compute import main\nsys.exit(main())\n' >"$NOVA_COMPUTE"
  chmod 755 "$NOVA_COMPUTE"
}

init_nova() {
  [ -f "$STATE/nova" ] && return 0
  log "creating the Placement, Glance and Nova databases, accounts and endpoints"
  mariadb -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS placement; CREATE DATABASE IF NOT EXISTS glance;
CREATE DATABASE IF NOT EXISTS nova_api; CREATE DATABASE IF NOT EXISTS nova; CREATE DATABASE IF NOT EXISTS nova_cell0;
CREATE USER IF NOT EXISTS 'placement'@'127.0.0.1' IDENTIFIED BY 'placement-db';
CREATE USER IF NOT EXISTS 'glance'@'127.0.0.1' IDENTIFIED BY 'glance-db';
CREATE USER IF NOT EXISTS 'nova'@'127.0.0.1' IDENTIFIED BY 'nova-db';
GRANT ALL ON placement.* TO 'placement'@'127.0.0.1'; GRANT ALL ON glance.* TO 'glance'@'127.0.0.1';
GRANT ALL ON nova_api.* TO 'nova'@'127.0.0.1'; GRANT ALL ON nova.* TO 'nova'@'127.0.0.1';
GRANT ALL ON nova_cell0.* TO 'nova'@'127.0.0.1';
SQL
  ADMIN_TOKEN=$(token admin "$ADMIN_PASSWORD" admin)
  local admin service service_project name user type url id interface
  admin=$(identity GET '/roles?name=admin' | jq -r '.roles[0].id')
  service=$(identity GET '/roles?name=service' | jq -r '.roles[0].id')
  service_project=$(identity GET '/projects?name=service' | jq -r '.projects[0].id')
  for name in nova placement glance; do
    user=$(create_user "$name" "$name-secret")
    identity PUT "/projects/$service_project/users/$user/roles/$admin"
    identity PUT "/projects/$service_project/users/$user/roles/$service"
  done
  while read -r name type url; do
    id=$(identity POST /services "$(jq -nc --arg n "$name" --arg t "$type" '{service: {name: $n, type: $t}}')" | jq -r .service.id)
    for interface in public internal admin; do
      identity POST /endpoints "$(jq -nc --arg s "$id" --arg i "$interface" --arg u "$url" \
        '{endpoint: {service_id: $s, interface: $i, url: $u, region_id: "RegionOne"}}')" >/dev/null
    done
  done <<EOF
nova compute $NOVA_API
placement placement $PLACEMENT
glance image $GLANCE
EOF
  su -s /bin/sh placement -c 'placement-manage db sync' 2>&1 | quiet
  su -s /bin/sh glance -c 'glance-manage db_sync' >"$LOG/glance-manage.log" 2>&1 \
    || { tail -20 "$LOG/glance-manage.log"; die "glance-manage db_sync failed"; }
  su -s /bin/sh nova -c 'nova-manage api_db sync' 2>&1 | quiet
  su -s /bin/sh nova -c 'nova-manage cell_v2 map_cell0 --database_connection mysql+pymysql://nova:nova-db@127.0.0.1/nova_cell0' 2>&1 | quiet
  su -s /bin/sh nova -c 'nova-manage cell_v2 create_cell --name=cell1' 2>&1 | quiet
  su -s /bin/sh nova -c 'nova-manage db sync' 2>&1 | quiet
  touch "$STATE/nova"
}

compute_host_mapped() {
  # Not piped into grep -q: nova-manage, cut off mid-output, would die before writing the mapping.
  su -s /bin/sh nova -c 'nova-manage cell_v2 discover_hosts' >/dev/null 2>&1
  su -s /bin/sh nova -c 'nova-manage cell_v2 list_hosts' 2>/dev/null | grep -qw "$COMPUTE_HOST"
}

start_nova() {
  init_nova
  if ! running placement; then
    log "starting placement"
    start placement uwsgi_python3 --http-socket 127.0.0.1:8778 --wsgi-file /usr/bin/placement-api \
      --master --processes 1 --threads 1 --uid placement --gid placement --buffer-size 65535 \
      --die-on-term --lazy-apps --need-app --chdir /var/lib/placement --add-header 'Connection: close'
  fi
  if ! running glance; then
    log "starting glance-api"
    start glance setpriv --reuid=glance --regid=glance --init-groups /usr/bin/glance-api --config-file /etc/glance/glance-api.conf
  fi
  # nova-compute exits when Placement does not answer yet.
  await 60 curl -sf "$PLACEMENT/"
  local service binary compute_started=""
  running nova-compute || compute_started=$(date -u +%Y-%m-%dT%H:%M:%S)
  for service in nova-api nova-conductor nova-scheduler nova-compute; do
    running "$service" && continue
    log "starting $service"
    binary=/usr/bin/$service
    [ "$service" = nova-compute ] && binary=$NOVA_COMPUTE
    start "$service" setpriv --reuid=nova --regid=nova --init-groups "$binary" --config-file /etc/nova/nova.conf
  done
  await 60 curl -s -o /dev/null "$GLANCE/versions"
  await 60 curl -sf "$NOVA_API/"
  # The compute host registers itself; only then can it be mapped into cell1.
  [ -f "$STATE/nova-host" ] || { await 90 compute_host_mapped; touch "$STATE/nova-host"; }
  /usr/bin/python3 report_ovs_agent.py "$COMPUTE_HOST"
  # The scheduler skips a compute host whose last heartbeat is old: wait for the first one since its start (~25 s).
  [ -z "$compute_started" ] || await 120 compute_heard_since "$compute_started"
}

compute_heard_since() { # compute_heard_since UTC-TIME: the compute host's service reported after it (a fresh token: they live 30 s)
  curl -sf -H "X-Auth-Token: $(token admin "$ADMIN_PASSWORD" admin)" "$NOVA_API/os-services?binary=nova-compute" \
    | jq -e --arg host "$COMPUTE_HOST" --arg since "$1" \
      '.services[] | select(.host == $host and .status == "enabled" and .updated_at != null and .updated_at[0:19] > $since)'
}

stop() { # stop NAME [SECONDS]: SIGTERM to the recorded PID, SIGKILL after SECONDS
  [ -f "$RUN/$1.pid" ] || return 0
  local pid deadline=$((SECONDS + ${2:-30}))
  pid=$(cat "$RUN/$1.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then log "$1 ($pid) still running: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$RUN/$1.pid"
}

up() {
  check_packages
  install -d "$RUN" "$STATE" "$LOG"
  if running rabbitmq && running mariadb && running keystone && running neutron && { [ "$NOVA" = 0 ] || nova_running; }; then return 0; fi
  local started=$SECONDS
  configure
  [ "$NOVA" = 0 ] || configure_nova
  start_rabbitmq
  start_mariadb
  init_databases
  start_keystone
  init_identity
  start_neutron
  [ "$NOVA" = 0 ] || start_nova
  log "up in $((SECONDS - started)) s: keystone $KEYSTONE, neutron $NEUTRON, amqp 127.0.0.1:5672$([ "$NOVA" = 0 ] || echo ", nova $NOVA_API")"
}

down() {
  local service
  # Nova's services and neutron-server take seconds to stop gracefully; nothing they hold needs that.
  for service in "${NOVA_SERVICES[@]}"; do stop "$service" 3; done
  stop neutron 3
  stop keystone 10
  stop mariadb 60
  if running rabbitmq; then
    rabbitmqctl -q stop >/dev/null 2>&1 || true
    stop rabbitmq 30
    # epmd daemonises itself (its parent is PID 1): ask it to exit rather than look for it by name.
    epmd -kill >/dev/null 2>&1 || true
  fi
  rm -f "$RUN/rabbitmq.pid"
}

status() {
  local name code=0
  for name in rabbitmq mariadb keystone neutron "${NOVA_SERVICES[@]}"; do
    # Nova's services only where `up --nova` started them once.
    case $name in placement|glance|nova-*) [ -f "$RUN/$name.pid" ] || [ -f "$STATE/nova" ] || continue ;; esac
    if running "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: stopped"; code=3; fi
  done
  return $code
}

env_vars() {
  cat <<EOF
export OS_AUTH_URL=$KEYSTONE/v3 OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne
export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
export OS_USERNAME=admin OS_PASSWORD=$ADMIN_PASSWORD OS_PROJECT_NAME=admin
# orchestrator: orchestrator / $ORCHESTRATOR_PASSWORD in project service (admin); tenant: demo / $DEMO_PASSWORD in project demo
# AMQP: rabbit://guest:guest@127.0.0.1:5672/ (exchange neutron, routing key notifications.info)
EOF
}

[ "$(id -u)" -eq 0 ] || die "must run as root"
case "${1:-}" in
  up)
    [ "${2:-}" = --nova ] && NOVA=1
    up ;;
  down) down ;;
  status) status ;;
  env) env_vars ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
