#!/usr/bin/env bash
# Brings up mfbot's real test environment, from a bare Debian 12 machine or from a running one:
#   - installs what is missing (docker.io, docker-compose, docker-registry, busybox-static,
#     postgresql-15, curl) with apt-get;
#   - reuses a Docker engine that answers, or starts dockerd (vfs, no iptables);
#   - reuses a registry answering on 127.0.0.1:5000, or starts Debian's docker-registry there;
#   - starts PostgreSQL 15 if needed and makes sure role mfbot_test / database monitorfishdb_test exist;
#   - builds the static fakeapp, the images FROM scratch, pushes the app tags to the local registry;
#   - recreates the compose project "remote" (remote_app_1, remote_db_1) and the pipeline containers,
#     and waits for remote_app_1 to be healthy;
#   - writes testenv/.state/env (export lines the tests source).
# Idempotent: run it again at any time, every run starts the stack clean. testenv/down.sh undoes it.
set -euo pipefail

# shellcheck source=testenv/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

START=$SECONDS
step_start=$SECONDS
step() {
	log "$* (t+$((SECONDS - START))s)"
	step_start=$SECONDS
}

[[ $(id -u) == 0 ]] || die "up.sh needs root (apt-get, dockerd, PostgreSQL)"
mkdir -p "$STATE_DIR" "$LOG_DIR" "$LOCAL_STATE"
export DEBIAN_FRONTEND=noninteractive

# ----------------------------------------------------------------------------------------------------
step "checking packages"
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v busybox >/dev/null || need+=(busybox-static)
[[ -x /usr/lib/postgresql/$PG_VERSION/bin/postgres ]] || need+=("postgresql-$PG_VERSION")
command -v pg_ctlcluster >/dev/null || need+=(postgresql-common)
[[ -e /usr/share/postgresql/$PG_VERSION/extension/postgis.control ]] || need+=("postgresql-$PG_VERSION-postgis-3")
command -v psql >/dev/null || need+=("postgresql-client-$PG_VERSION")
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
	mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
	log "installing: ${need[*]}"
	# Keep the packages' maintainer scripts from starting services on their own (a dockerd with the
	# default storage driver, a registry with htpasswd auth on :5000): this script starts its own.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	run_logged apt apt-get update
	run_logged apt apt-get install -y "${need[@]}"
	if [[ -n $(trap -p EXIT) ]]; then
		rm -f /usr/sbin/policy-rc.d
		trap - EXIT
	fi
	log "installed ${need[*]} in $((SECONDS - step_start))s"
else
	log "docker.io, docker-compose, docker-registry, busybox-static, postgresql-$PG_VERSION (+ postgis-3), curl: present"
fi
command -v go >/dev/null || die "go is not on PATH (the Go toolchain comes with the machine)"

# ----------------------------------------------------------------------------------------------------
step "checking the Docker engine"
if engine_up; then
	log "Docker engine answering: reusing it ($(docker version -f '{{.Server.Version}} API {{.Server.APIVersion}}' 2>/dev/null))"
else
	if pid_is /var/run/docker.pid dockerd; then
		log "a dockerd (pid $(</var/run/docker.pid)) exists but does not answer yet: waiting for it"
	else
		rm -f /var/run/docker.pid # stale, from a machine stopped with the engine running
		log "starting dockerd --iptables=false --storage-driver=vfs (log: $STATE_DIR/dockerd.log)"
		setsid dockerd --iptables=false --storage-driver=vfs </dev/null >>"$STATE_DIR/dockerd.log" 2>&1 &
		dockerd_pid=$!
		echo "$dockerd_pid" >"$STATE_DIR/dockerd.pid"
	fi
	for ((i = 0; i < 120; i++)); do
		engine_up && break
		if [[ -n ${dockerd_pid:-} ]] && ! alive "$dockerd_pid"; then
			tail -n 30 "$STATE_DIR/dockerd.log" >&2 || true
			rm -f "$STATE_DIR/dockerd.pid"
			die "dockerd exited at start (see $STATE_DIR/dockerd.log)"
		fi
		sleep 0.5
	done
	engine_up || {
		tail -n 30 "$STATE_DIR/dockerd.log" >&2 || true
		die "the Docker engine did not answer within 60s (see $STATE_DIR/dockerd.log)"
	}
	log "Docker engine up in $((SECONDS - step_start))s ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
fi

# ----------------------------------------------------------------------------------------------------
step "checking the registry on $REGISTRY"
registry_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$REGISTRY/v2/" || true; }
code=$(registry_code)
if [[ $code == 200 ]]; then
	log "registry answering on http://$REGISTRY/v2/: reusing it"
elif [[ $code != 000 ]]; then
	die "something answers HTTP $code on http://$REGISTRY/v2/ (a registry with auth?): stop it or free port 5000"
else
	mkdir -p "$STATE_DIR/registry/data"
	cat >"$STATE_DIR/registry/config.yml" <<EOF
# written by testenv/up.sh: a plain-HTTP registry on loopback for mfbot's tests
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
	log "starting docker-registry on $REGISTRY (log: $STATE_DIR/registry.log)"
	setsid docker-registry serve "$STATE_DIR/registry/config.yml" </dev/null >>"$STATE_DIR/registry.log" 2>&1 &
	registry_pid=$!
	echo "$registry_pid" >"$STATE_DIR/registry.pid"
	for ((i = 0; i < 60; i++)); do
		[[ $(registry_code) == 200 ]] && break
		alive "$registry_pid" || {
			tail -n 20 "$STATE_DIR/registry.log" >&2 || true
			die "docker-registry exited at start (see $STATE_DIR/registry.log)"
		}
		sleep 0.25
	done
	[[ $(registry_code) == 200 ]] || die "the registry did not answer within 15s (see $STATE_DIR/registry.log)"
	log "registry up in $((SECONDS - step_start))s"
fi

# ----------------------------------------------------------------------------------------------------
step "checking PostgreSQL $PG_VERSION"
cluster_line() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c'; }
if [[ -z $(cluster_line) ]]; then
	log "creating cluster $PG_VERSION/$PG_CLUSTER"
	run_logged postgres pg_createcluster "$PG_VERSION" "$PG_CLUSTER"
fi
if [[ $(cluster_line | awk '{print $4}') == online* ]]; then
	log "PostgreSQL $PG_VERSION/$PG_CLUSTER running: reusing it"
else
	log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
	run_logged postgres pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
	touch "$STATE_DIR/postgres.started"
fi
PG_PORT=$(cluster_line | awk '{print $3}')
[[ $PG_PORT == 5432 ]] || warn "cluster $PG_VERSION/$PG_CLUSTER listens on port $PG_PORT, not 5432"
pg_admin() { (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"); }
for ((i = 0; i < 40; i++)); do
	pg_admin -c 'select 1' >/dev/null 2>&1 && break
	sleep 0.25
done
run_logged postgres pg_admin -d postgres -c "
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mfbot_test') THEN
    CREATE ROLE mfbot_test LOGIN PASSWORD 'mfbot_test';
  END IF;
END \$\$;
ALTER ROLE mfbot_test LOGIN CREATEDB PASSWORD 'mfbot_test';"
if [[ -z $(pg_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'monitorfishdb_test'") ]]; then
	run_logged postgres pg_admin -d postgres -c "CREATE DATABASE monitorfishdb_test OWNER mfbot_test"
fi
PG_URL="postgres://mfbot_test:mfbot_test@127.0.0.1:$PG_PORT/monitorfishdb_test"
PGPASSWORD=mfbot_test psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U mfbot_test -d monitorfishdb_test -tAc 'select 1' >/dev/null ||
	die "cannot connect to $PG_URL over TCP (check listen_addresses and pg_hba.conf)"
log "PostgreSQL ready: database monitorfishdb_test (owner mfbot_test) on 127.0.0.1:$PG_PORT"

# monitorfishdb, shaped like MonitorFish's (testenv/fixtures/monitorfishdb.sql), tables owned by mfbot_test,
# read through the read-only role mfbot_readonly (testenv/fixtures/readonly-role.sql; the password is
# testenv.ReadOnlyPassword). It is cloned from monitorfishdb_template, which nobody connects to, so that
# tests can clone it too (testenv.BenchMonitorFishDB: monitorfishdb_bench, kept between runs). Recreated
# at every run: the fixture's positions are fresh as of now.
MFDB_RO_USER=mfbot_readonly
MFDB_RO_PASSWORD=mfbot-ro-S3cr3t
FIXTURES=$TESTENV_DIR/fixtures
if [[ -n $(pg_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'monitorfishdb_template'") ]]; then
	run_logged postgres pg_admin -d postgres -c "ALTER DATABASE monitorfishdb_template WITH IS_TEMPLATE false ALLOW_CONNECTIONS true"
fi
run_logged postgres pg_admin -d postgres \
	-c "DROP DATABASE IF EXISTS monitorfishdb WITH (FORCE)" \
	-c "DROP DATABASE IF EXISTS monitorfishdb_template WITH (FORCE)" \
	-c "CREATE DATABASE monitorfishdb_template OWNER mfbot_test"
run_logged postgres pg_admin -d monitorfishdb_template \
	-v password="$MFDB_RO_PASSWORD" -v role="$MFDB_RO_USER" -v owner=mfbot_test \
	-c "CREATE EXTENSION IF NOT EXISTS postgis" \
	-c "SET ROLE mfbot_test" -f "$FIXTURES/monitorfishdb.sql" -c "RESET ROLE" \
	-f "$FIXTURES/readonly-role.sql"
run_logged postgres pg_admin -d postgres \
	-c "ALTER DATABASE monitorfishdb_template WITH IS_TEMPLATE true ALLOW_CONNECTIONS false" \
	-c "CREATE DATABASE monitorfishdb TEMPLATE monitorfishdb_template OWNER mfbot_test" \
	-c "GRANT CONNECT ON DATABASE monitorfishdb TO $MFDB_RO_USER"
MFDB_HOSTPORT=127.0.0.1:$PG_PORT
MFDB_URL="postgres://$MFDB_RO_USER:$MFDB_RO_PASSWORD@$MFDB_HOSTPORT/monitorfishdb"
MFDB_JDBC="jdbc:postgresql://$MFDB_HOSTPORT/monitorfishdb?user=$MFDB_RO_USER&password=$MFDB_RO_PASSWORD"
MFDB_ADMIN_URL="postgres://mfbot_test:mfbot_test@$MFDB_HOSTPORT/monitorfishdb"
[[ $(psql -X -q -tA "$MFDB_URL" -c 'SELECT count(*) > 0 FROM positions') == t ]] ||
	die "cannot read monitorfishdb's positions as $MFDB_RO_USER over TCP"
log "PostgreSQL: database monitorfishdb loaded ($(psql -X -q -tA "$MFDB_URL" -c "SELECT count(*) || ' positions, newest ' || extract(epoch FROM now() AT TIME ZONE 'UTC' - find_last_datetime_in_positions_table())::int || ' s old' FROM positions")), read-only role $MFDB_RO_USER"

# ----------------------------------------------------------------------------------------------------
step "building the fakeapp (static, CGO_ENABLED=0)"
BUILD_DIR=$LOCAL_STATE/build
mkdir -p "$LOCAL_STATE/bin"
build_fakeapp() { # NAME VERSION COMMIT [FLAVOR]
	mkdir -p "$BUILD_DIR/$1"
	(cd "$REPO_ROOT" && CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -X main.version=$2 -X main.commit=$3 -X main.flavor=${4:-}" \
		-o "$BUILD_DIR/$1/fakeapp" ./testenv/fakeapp)
}
run_logged go build_fakeapp v1 1.0.0 c0ffee01
run_logged go build_fakeapp v2 2.0.0 c0ffee02
run_logged go build_fakeapp broken 9.9.9-broken deadbeef broken
run_logged go build_fakeapp unhealthy 3.0.0-unhealthy c0ffee03 unhealthy
cp "$BUILD_DIR/v1/fakeapp" "$LOCAL_STATE/bin/fakeapp.tmp" && mv -f "$LOCAL_STATE/bin/fakeapp.tmp" "$LOCAL_STATE/bin/fakeapp"
log "fakeapp built in $((SECONDS - step_start))s: $LOCAL_STATE/bin/fakeapp ($("$LOCAL_STATE/bin/fakeapp" version))"

# ----------------------------------------------------------------------------------------------------
step "building and pushing the images"
export DOCKER_BUILDKIT=0
build_image() { # DOCKERFILE CONTEXT TAG VERSION [COMMIT]
	docker build -f "$TESTENV_DIR/images/$1" --build-arg "VERSION=$4" --build-arg "COMMIT=${5:-unknown}" -t "$3" "$2"
}
img_v1() { build_image Dockerfile.app "$BUILD_DIR/v1" "$APP_REPO:v1" 1.0.0 c0ffee01; }
img_v2() { build_image Dockerfile.app "$BUILD_DIR/v2" "$APP_REPO:v2" 2.0.0 c0ffee02; }
img_broken() { build_image Dockerfile.app "$BUILD_DIR/broken" "$APP_REPO:broken" 9.9.9-broken deadbeef; }
img_unhealthy() { build_image Dockerfile.app "$BUILD_DIR/unhealthy" "$APP_REPO:unhealthy" 3.0.0-unhealthy c0ffee03; }
img_stack() { build_image Dockerfile.stack "$BUILD_DIR/v1" "$STACK_IMAGE" 1.0.0; }
# Two builds at a time (2 cores): v1 with the stack image, then v2 and broken, which reuse v1's
# version-independent steps from the build cache.
build_together() { # FUNCTION...
	local pids=() f pid
	for f in "$@"; do
		run_logged "docker-build-${f#img_}" "$f" &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid" || die "an image build failed (logs in $LOG_DIR/docker-build-*.log)"; done
}
build_together img_v1 img_stack
build_together img_v2 img_broken
build_together img_unhealthy
run_logged docker docker tag "$APP_REPO:v1" "$APP_REPO:snapshot"
# Images of earlier builds (a changed fakeapp) left untagged: only ours, by their label.
run_logged docker docker image prune -f --filter label=mfbot.testenv=1
v1_id=$(docker image inspect -f '{{.Id}}' "$APP_REPO:v1")
v2_id=$(docker image inspect -f '{{.Id}}' "$APP_REPO:v2")
[[ $v1_id != "$v2_id" ]] || die "images v1 and v2 have the same ID $v1_id"
for tag in v1 v2 broken unhealthy snapshot; do
	run_logged docker-push docker push "$APP_REPO:$tag"
done
# The pipeline image of `deploy … pipeline`: the stack image (its fakeapp has the deploy-flows mode)
# under two version tags.
for tag in v1 v2; do
	run_logged docker docker tag "$STACK_IMAGE" "$PIPELINE_REPO:$tag"
	run_logged docker-push docker push "$PIPELINE_REPO:$tag"
done
log "images ready in $((SECONDS - step_start))s: $APP_REPO:{v1,v2,broken (crash-loops),unhealthy (never healthy),snapshot(=v1)} and $PIPELINE_REPO:{v1,v2} pushed, $STACK_IMAGE"
log "  v1 ${v1_id:7:12}  v2 ${v2_id:7:12}  snapshot digest $(docker image inspect -f '{{index .RepoDigests 0}}' "$APP_REPO:snapshot" 2>/dev/null | sed 's/.*@//' | cut -c1-19)"

# ----------------------------------------------------------------------------------------------------
step "recreating the stack"
remove_stack
log "starting compose project '$COMPOSE_PROJECT' (app, db)"
run_logged compose compose up -d --force-recreate --remove-orphans
log "starting monitorfish-pipeline-server (TTY) and monitorfish-pipeline-flows"
run_logged docker docker run -d -t --name monitorfish-pipeline-server "$STACK_IMAGE" pipeline-server
run_logged docker docker run -d --name monitorfish-pipeline-flows "$STACK_IMAGE" pipeline-flows

log "waiting for remote_app_1 to be healthy (60s max)"
health=
for ((i = 0; i < 240; i++)); do
	health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' remote_app_1 2>/dev/null || echo missing)
	[[ $health == healthy ]] && break
	sleep 0.25
done
if [[ $health != healthy ]]; then
	docker ps -a >&2 || true
	docker logs --tail 30 remote_app_1 >&2 || true
	die "remote_app_1 is '$health' after 60s"
fi
version_json=$(curl -fsS -m 5 http://127.0.0.1:18880/version) || die "http://127.0.0.1:18880/version does not answer"
for name in remote_db_1 "${PIPELINE_CONTAINERS[@]}"; do
	[[ $(docker inspect -f '{{.State.Status}}' "$name" 2>/dev/null) == running ]] || die "$name is not running"
done
log "stack up in $((SECONDS - step_start))s: remote_app_1 healthy ($version_json), remote_db_1, ${PIPELINE_CONTAINERS[*]} running"

# ----------------------------------------------------------------------------------------------------
ENV_FILE=$LOCAL_STATE/env
cat >"$ENV_FILE.tmp" <<EOF
# written by testenv/up.sh on $(date -u '+%FT%TZ'); source it before go test -tags integration
export MFBOT_TEST_STACK=1
export MFBOT_TEST_REGISTRY=$REGISTRY
export MFBOT_TEST_APP_URL=http://127.0.0.1:18880
export MFBOT_TEST_PG_URL=$PG_URL
export MFBOT_TEST_MONITORFISHDB_URL='$MFDB_URL'
export MFBOT_TEST_MONITORFISHDB_JDBC='$MFDB_JDBC'
export MFBOT_TEST_MONITORFISHDB_ADMIN_URL='$MFDB_ADMIN_URL'
export MFBOT_TEST_COMPOSE_FILE=$COMPOSE_FILE
export MFBOT_TEST_COMPOSE_PROJECT=$COMPOSE_PROJECT
export MFBOT_TEST_FAKEAPP=$LOCAL_STATE/bin/fakeapp
export MFBOT_TEST_APP_IMAGE=$APP_REPO
export MFBOT_TEST_STACK_IMAGE=$STACK_IMAGE
export MFBOT_TEST_PIPELINE_IMAGE=$PIPELINE_REPO
EOF
mv -f "$ENV_FILE.tmp" "$ENV_FILE"
log "wrote $ENV_FILE"
log "ready in $((SECONDS - START))s"
