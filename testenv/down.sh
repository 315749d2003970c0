#!/usr/bin/env bash
# Tears down what testenv/up.sh set up: the compose project "remote" with its volumes, the pipeline
# containers, every container/volume/network labelled mfbot.test=1; then stops the registry, dockerd and
# PostgreSQL, but only those that up.sh itself started (pid and marker files in the state dir). A Docker
# engine, registry or PostgreSQL that was already running before up.sh is left running.
set -euo pipefail

# shellcheck source=testenv/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

START=$SECONDS
mkdir -p "$LOG_DIR"

if engine_up; then
	remove_stack
else
	log "no Docker engine answering: no container to remove"
fi

stop_pidfile "$STATE_DIR/registry.pid" docker-registry "the registry" 10
stop_pidfile "$STATE_DIR/dockerd.pid" dockerd "dockerd" 30

if [[ -e $STATE_DIR/postgres.started ]]; then
	log "stopping PostgreSQL $PG_VERSION/$PG_CLUSTER (started by up.sh)"
	pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop -m fast >>"$LOG_DIR/postgres.log" 2>&1 ||
		warn "pg_ctlcluster $PG_VERSION $PG_CLUSTER stop failed (see $LOG_DIR/postgres.log)"
	rm -f "$STATE_DIR/postgres.started"
fi

rm -f "$LOCAL_STATE/env"
log "down in $((SECONDS - START))s"
