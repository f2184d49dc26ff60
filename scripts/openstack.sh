#!/usr/bin/env bash
# A real OpenStack control plane for the OpenStack provider's tests: RabbitMQ,
# MariaDB, Keystone (under uWSGI) and neutron-server from Debian 12's packages,
# every one listening on 127.0.0.1 only, without systemd.
#
#   scripts/openstack.sh up       configure, initialise the databases once, start what is not running
#   scripts/openstack.sh down     stop exactly what `up` started (by the PIDs it recorded)
#   scripts/openstack.sh status   what runs, and where
#   scripts/openstack.sh env      shell variables with the test accounts and endpoints
#
# `up` is idempotent and cheap when everything already runs. The packages come
# from scripts/setup.sh. Environment: ASTARA_OS_TOKEN_EXPIRATION, Keystone's
# token lifetime in seconds (default 30: the tests prove token renewal).
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
quiet() { grep -vE 'Exception ignored|Traceback|File "|eventlet|getcurrent|^\s' || true; }

check_packages() {
  local missing=() p
  for p in rabbitmq-server mariadb-server keystone neutron-server python3-pymysql uwsgi-plugin-python3 jq curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
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
  setsid "${@:2}" >"$LOG/$1.out" 2>&1 &
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
  if running rabbitmq && running mariadb && running keystone && running neutron; then return 0; fi
  local started=$SECONDS
  configure
  start_rabbitmq
  start_mariadb
  init_databases
  start_keystone
  init_identity
  start_neutron
  log "up in $((SECONDS - started)) s: keystone $KEYSTONE, neutron $NEUTRON, amqp 127.0.0.1:5672"
}

down() {
  # neutron-server takes ~10 s to stop gracefully; nothing it holds needs that.
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
  for name in rabbitmq mariadb keystone neutron; do
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
  up) up ;;
  down) down ;;
  status) status ;;
  env) env_vars ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
