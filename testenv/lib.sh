# shellcheck shell=bash
# Shared by up.sh, down.sh and bench-logs.sh: paths, logging, and the removal of the test stack.
# Sourced, never run.

TESTENV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$TESTENV_DIR")
# Daemons started by the scripts keep their pid files, logs and data here (outside the work tree, so
# a fresh clone in CI finds the daemons of an earlier run of the same machine, if any).
STATE_DIR=${MFBOT_TESTENV_STATE_DIR:-/tmp/mfbot-testenv}
# Per-checkout outputs: the env file for the tests, the fakeapp binaries and image build contexts.
LOCAL_STATE=$TESTENV_DIR/.state
LOG_DIR=$STATE_DIR/logs

# The Go toolchain of this kind of machine lives in /usr/local/go.
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
	export PATH=$PATH:/usr/local/go/bin
fi

REGISTRY=127.0.0.1:5000
APP_REPO=$REGISTRY/monitorfish-app
PIPELINE_REPO=$REGISTRY/monitorfish-pipeline
STACK_IMAGE=mfbot-test/stack:latest
COMPOSE_FILE=$TESTENV_DIR/compose/docker-compose.yml
COMPOSE_PROJECT=remote
PIPELINE_CONTAINERS=(monitorfish-pipeline-server monitorfish-pipeline-flows)
PG_VERSION=15
PG_CLUSTER=main

log() { printf 'testenv: %s\n' "$*"; }
warn() { printf 'testenv: WARNING: %s\n' "$*" >&2; }
die() {
	printf 'testenv: ERROR: %s\n' "$*" >&2
	exit 1
}

# run_logged NAME CMD...: runs CMD with its output appended to $LOG_DIR/NAME.log; on failure shows the
# end of that log and stops the script.
run_logged() {
	local name=$1
	shift
	mkdir -p "$LOG_DIR"
	printf '\n### %s: %s\n' "$(date '+%F %T')" "$*" >>"$LOG_DIR/$name.log"
	if ! "$@" >>"$LOG_DIR/$name.log" 2>&1; then
		printf 'testenv: ERROR: command failed: %s\n' "$*" >&2
		printf 'testenv: ---- last lines of %s ----\n' "$LOG_DIR/$name.log" >&2
		tail -n 40 "$LOG_DIR/$name.log" >&2
		exit 1
	fi
}

engine_up() { docker info >/dev/null 2>&1; }

# pid_is PIDFILE COMM: true when the pid file names a live process whose command name is COMM.
pid_is() {
	local pidfile=$1 comm=$2 pid
	[[ -s $pidfile ]] || return 1
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/comm ]] || return 1
	[[ $(<"/proc/$pid/comm") == "$comm"* ]]
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [[ -n $st && $st != Z ]]
}

# stop_pidfile PIDFILE COMM WHAT [TIMEOUT]: SIGTERM the process of a pid file we wrote, wait, SIGKILL.
stop_pidfile() {
	local pidfile=$1 comm=$2 what=$3 timeout=${4:-30} pid i
	if ! pid_is "$pidfile" "$comm"; then
		rm -f "$pidfile"
		return 0
	fi
	pid=$(<"$pidfile")
	log "stopping $what (pid $pid, started by up.sh)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		[[ -d /proc/$pid ]] || break
		sleep 0.1
	done
	if [[ -d /proc/$pid ]]; then
		warn "$what did not stop within ${timeout}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$pidfile"
}

compose() { docker-compose -p "$COMPOSE_PROJECT" -f "$COMPOSE_FILE" "$@"; }

# remove_stack: removes everything a test run may have left: the compose project with its volumes and
# network (including containers that tests recreated outside compose and attached to its network, and
# any container holding one of its names), the pipeline containers, and whatever is labelled
# mfbot.test=1 (containers, volumes, networks).
remove_stack() {
	local ids
	ids=$(docker ps -aq --no-trunc --filter "label=mfbot.test=1" || true)
	if [[ -n $ids ]]; then
		log "removing $(wc -w <<<"$ids") container(s) labelled mfbot.test=1"
		# shellcheck disable=SC2086
		run_logged docker docker rm -fv $ids
	fi
	# Containers attached to the project's network but unknown to compose would block its removal.
	ids=$(docker network inspect "${COMPOSE_PROJECT}_backend" -f '{{range $id, $c := .Containers}}{{$id}} {{end}}' 2>/dev/null || true)
	for name in "${COMPOSE_PROJECT}_app_1" "${COMPOSE_PROJECT}_db_1"; do
		ids+=" $(docker ps -aq --no-trunc --filter "name=^/${name}\$" || true)"
	done
	ids+=" $(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=${COMPOSE_PROJECT}" || true)"
	ids=$(tr ' ' '\n' <<<"$ids" | sed '/^$/d' | sort -u | tr '\n' ' ')
	log "removing compose project '$COMPOSE_PROJECT' (containers, network, volumes)"
	if [[ -n ${ids// /} ]]; then
		# shellcheck disable=SC2086
		run_logged docker docker rm -f $ids
	fi
	run_logged compose compose down --volumes --remove-orphans --timeout 5
	for name in "${PIPELINE_CONTAINERS[@]}"; do
		if docker container inspect "$name" >/dev/null 2>&1; then
			log "removing container $name"
			run_logged docker docker rm -f "$name"
		fi
	done
	ids=$(docker volume ls -q --filter "label=mfbot.test=1" || true)
	if [[ -n $ids ]]; then
		# shellcheck disable=SC2086
		run_logged docker docker volume rm -f $ids
	fi
	ids=$(docker network ls -q --filter "label=mfbot.test=1" || true)
	if [[ -n $ids ]]; then
		# shellcheck disable=SC2086
		run_logged docker docker network rm $ids
	fi
}
