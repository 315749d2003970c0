#!/usr/bin/env bash
# Benchmark of `logs` on big container logs: mfbot against the docker CLI, in two cases:
#   huge      a container mfbot-bench-logs (`logs-bench --mb 520`) whose json-file log is 730 MiB:
#             the engine's backwards scan of the file weighs most, `--tail 5000`;
#   ordinary  a container mfbot-bench-logs-100 (`logs-bench --mb 75`) whose json-file log is about
#             106 MiB (110 MB), `--tail 10000`: the engine's part is small, mfbot's own per-line and
#             per-process work shows.
# Both containers write their lines at once (image mfbot-test/stack); once each log file has its size
# and the writer is done, the rounds of each case alternate fresh processes of
#   docker logs --tail N <container>
#   mfbot console --config <yaml> -c "logs <service> --tail N"
#   mfbot console --config <yaml> -c help      (the baseline of the peak RSS)
# timed with /usr/bin/time (wall seconds, peak RSS). Prints the medians per case and PASS/FAIL against the
# targets: wall-time ratio mfbot/docker <= 1.2, RSS growth over the baseline < 30 MB. Exit status 0 when
# every case passes, 1 otherwise.
#
# Needs the Docker engine and the mfbot-test/stack image: run testenv/up.sh first.
# Environment: BENCH_ROUNDS (default 11), BENCH_CASES (default "huge ordinary"), BENCH_MB (default 520),
# BENCH_MIN_MB (default 500), BENCH_TAIL (default 5000) for the huge case, BENCH_ORDINARY_MB (default 75),
# BENCH_ORDINARY_MIN_MB (default 100), BENCH_ORDINARY_TAIL (default 10000) for the ordinary one.
set -euo pipefail

# shellcheck source=testenv/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-11}
CASES=${BENCH_CASES:-huge ordinary}
MAX_RATIO=1.2
MAX_GROWTH_MB=30

# Per case: container, service name in the generated configuration, MiB to write, MiB of json-file log
# to wait for, --tail, description.
declare -A CTR SVC GEN_MB MIN_MB TAIL DESC SIZE_MIB
CTR[huge]=mfbot-bench-logs
SVC[huge]=bench
GEN_MB[huge]=${BENCH_MB:-520}
MIN_MB[huge]=${BENCH_MIN_MB:-500}
TAIL[huge]=${BENCH_TAIL:-5000}
DESC[huge]="500+ MiB json-file log"
CTR[ordinary]=mfbot-bench-logs-100
SVC[ordinary]=bench100
GEN_MB[ordinary]=${BENCH_ORDINARY_MB:-75}
MIN_MB[ordinary]=${BENCH_ORDINARY_MIN_MB:-100}
TAIL[ordinary]=${BENCH_ORDINARY_TAIL:-10000}
DESC[ordinary]="~100 MiB json-file log"
for c in $CASES; do
	[[ -n ${CTR[$c]:-} ]] || die "unknown case $c in BENCH_CASES (huge, ordinary)"
done

engine_up || die "no Docker engine answers: run testenv/up.sh first"
docker image inspect "$STACK_IMAGE" >/dev/null 2>&1 || die "image $STACK_IMAGE missing: run testenv/up.sh first"
if [[ ! -x /usr/bin/time ]]; then
	log "installing Debian's time package (for /usr/bin/time)"
	export DEBIAN_FRONTEND=noninteractive
	run_logged apt apt-get update
	run_logged apt apt-get install -y time
fi

TMP=$(mktemp -d /tmp/mfbot-bench.XXXXXX)
cleanup() {
	for c in $CASES; do
		docker rm -f "${CTR[$c]}" >/dev/null 2>&1 || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

log "building mfbot"
(cd "$REPO_ROOT" && go build -o "$TMP/mfbot" .) || die "go build of mfbot failed"

for c in $CASES; do
	log "starting ${CTR[$c]}: logs-bench --mb ${GEN_MB[$c]}"
	docker rm -f "${CTR[$c]}" >/dev/null 2>&1 || true
	docker run -d --name "${CTR[$c]}" --label mfbot.test=1 "$STACK_IMAGE" logs-bench --mb "${GEN_MB[$c]}" >/dev/null
done
deadline=$((SECONDS + 600))
for c in $CASES; do
	name=${CTR[$c]}
	logpath=$(docker inspect -f '{{.LogPath}}' "$name")
	[[ -n $logpath ]] || die "no LogPath for $name (is the json-file log driver in use?)"
	min_bytes=$((MIN_MB[$c] * 1024 * 1024))
	while :; do
		size=$(stat -c %s "$logpath" 2>/dev/null || echo 0)
		if ((size >= min_bytes)) && tail -c 4096 "$logpath" | grep -q 'logs-bench done'; then
			break
		fi
		((SECONDS < deadline)) || die "log file of $name still $((size / 1048576)) MiB after 600s"
		[[ $(docker inspect -f '{{.State.Running}}' "$name") == true ]] || die "$name stopped: $(docker logs --tail 5 "$name" 2>&1)"
		sleep 2
		log "  log file of $name: $((size / 1048576)) MiB"
	done
	log "log file of $name ready: $((size / 1048576)) MiB ($size bytes) at $logpath"
	SIZE_MIB[$c]=$((size / 1048576))
done

{
	echo "environments:"
	echo "  bench:"
	echo "    services:"
	for c in $CASES; do
		echo "      ${SVC[$c]}: {container: ${CTR[$c]}}"
	done
} >"$TMP/mfbot.yaml"

# measure OUTFILE CMD...: appends "wall_seconds peak_rss_kb" of one run of CMD to OUTFILE.
measure() {
	local out=$1
	shift
	local start end
	# Wall time in nanoseconds (time's %e has a 10 ms resolution, too coarse
	# for ~100 ms runs); peak RSS from /usr/bin/time.
	start=$(date +%s%N)
	if ! /usr/bin/time -f '%M' -o "$TMP/one" "$@" >/dev/null 2>"$TMP/stderr"; then
		echo "testenv: ERROR: failed: $*" >&2
		tail -n 20 "$TMP/stderr" >&2
		exit 1
	fi
	end=$(date +%s%N)
	echo "$(awk -v ns=$((end - start)) 'BEGIN {printf "%.4f", ns / 1e9}') $(tail -n 1 "$TMP/one")" >>"$out"
}
median() { # FILE COLUMN
	sort -n -k "$2,$2" "$1" | awk -v c="$2" '{v[NR] = $c} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

cd "$TMP"
export MFBOT_STORE=$TMP/mfbot.db
MFBOT=("$TMP/mfbot" console --config "$TMP/mfbot.yaml" -c)
status=0
for c in $CASES; do
	name=${CTR[$c]} tail=${TAIL[$c]} cmd="logs ${SVC[$c]} --tail ${TAIL[$c]}"
	: >"$TMP/docker.txt"
	: >"$TMP/mfbot.txt"
	: >"$TMP/baseline.txt"
	log "case $c: --tail $tail on the ${SIZE_MIB[$c]} MiB log of $name"
	# One unmeasured run of each warms the page cache.
	measure "$TMP/warm.txt" docker logs --tail "$tail" "$name"
	measure "$TMP/warm.txt" "${MFBOT[@]}" "$cmd"
	for ((r = 1; r <= ROUNDS; r++)); do
		measure "$TMP/docker.txt" docker logs --tail "$tail" "$name"
		measure "$TMP/mfbot.txt" "${MFBOT[@]}" "$cmd"
		measure "$TMP/baseline.txt" "${MFBOT[@]}" help
		log "  round $r: docker $(tail -n 1 "$TMP/docker.txt" | cut -d' ' -f1)s, mfbot $(tail -n 1 "$TMP/mfbot.txt" | awk '{printf "%ss %.1f MB", $1, $2 / 1024}'), help $(tail -n 1 "$TMP/baseline.txt" | awk '{printf "%.1f MB", $2 / 1024}')"
	done

	docker_wall=$(median "$TMP/docker.txt" 1)
	mfbot_wall=$(median "$TMP/mfbot.txt" 1)
	mfbot_rss=$(median "$TMP/mfbot.txt" 2)
	base_rss=$(median "$TMP/baseline.txt" 2)
	awk -v dw="$docker_wall" -v mw="$mfbot_wall" -v mr="$mfbot_rss" -v br="$base_rss" \
		-v maxr="$MAX_RATIO" -v maxg="$MAX_GROWTH_MB" -v rounds="$ROUNDS" -v tail="$tail" \
		-v what="${DESC[$c]} (${SIZE_MIB[$c]} MiB)" -v case="$c" '
	BEGIN {
		ratio = (dw > 0) ? mw / dw : (mw > 0 ? 999 : 1)
		growth = (mr - br) / 1024
		okr = ratio <= maxr; okg = growth < maxg
		printf "bench-logs %s: medians of %d rounds, --tail %d on a %s\n", case, rounds, tail, what
		printf "  docker logs wall     %8.3f s\n", dw
		printf "  mfbot logs wall      %8.3f s\n", mw
		printf "  ratio mfbot/docker   %8.2f    (target <= %.1f)  %s\n", ratio, maxr, okr ? "PASS" : "FAIL"
		printf "  mfbot peak RSS       %8.1f MB\n", mr / 1024
		printf "  baseline RSS (help)  %8.1f MB\n", br / 1024
		printf "  growth               %8.1f MB (target < %d MB)  %s\n", growth, maxg, okg ? "PASS" : "FAIL"
		printf "bench-logs %s: %s\n", case, (okr && okg) ? "PASS" : "FAIL"
		exit (okr && okg) ? 0 : 1
	}' || status=1
done
if ((status == 0)); then
	echo "bench-logs: PASS"
else
	echo "bench-logs: FAIL"
fi
exit "$status"
