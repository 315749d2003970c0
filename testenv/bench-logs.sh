#!/usr/bin/env bash
# Benchmark of `logs` on a big container log: mfbot against the docker CLI.
#
# A container mfbot-bench-logs (image mfbot-test/stack, `logs-bench --mb 520`) writes 520 MiB of log
# lines; once its json-file log is at least 500 MiB and the writer is done, 5 rounds alternate
#   docker logs --tail 5000 mfbot-bench-logs
#   mfbot console --config <yaml> -c "logs bench --tail 5000"
# timed with /usr/bin/time (wall seconds, peak RSS), plus the peak RSS of `mfbot console -c help` as the
# baseline. Prints the medians and PASS/FAIL against the targets: wall-time ratio mfbot/docker <= 1.2,
# RSS growth over the baseline < 30 MB. Exit status 0 on PASS, 1 on FAIL.
#
# Needs the Docker engine and the mfbot-test/stack image: run testenv/up.sh first.
# Environment: BENCH_ROUNDS (default 11), BENCH_MB (default 520), BENCH_MIN_MB (default 500).
set -euo pipefail

# shellcheck source=testenv/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-11}
GEN_MB=${BENCH_MB:-520}
MIN_MB=${BENCH_MIN_MB:-500}
TAIL=5000
NAME=mfbot-bench-logs
MAX_RATIO=1.2
MAX_GROWTH_MB=30

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
	docker rm -f "$NAME" >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

log "building mfbot"
(cd "$REPO_ROOT" && go build -o "$TMP/mfbot" .) || die "go build of mfbot failed"

log "starting $NAME: logs-bench --mb $GEN_MB"
docker rm -f "$NAME" >/dev/null 2>&1 || true
docker run -d --name "$NAME" --label mfbot.test=1 "$STACK_IMAGE" logs-bench --mb "$GEN_MB" >/dev/null
logpath=$(docker inspect -f '{{.LogPath}}' "$NAME")
[[ -n $logpath ]] || die "no LogPath for $NAME (is the json-file log driver in use?)"
min_bytes=$((MIN_MB * 1024 * 1024))
deadline=$((SECONDS + 600))
while :; do
	size=$(stat -c %s "$logpath" 2>/dev/null || echo 0)
	if ((size >= min_bytes)) && tail -c 4096 "$logpath" | grep -q 'logs-bench done'; then
		break
	fi
	((SECONDS < deadline)) || die "log file still $((size / 1048576)) MiB after 600s"
	[[ $(docker inspect -f '{{.State.Running}}' "$NAME") == true ]] || die "$NAME stopped: $(docker logs --tail 5 "$NAME" 2>&1)"
	sleep 2
	log "  log file $((size / 1048576)) MiB"
done
log "log file ready: $((size / 1048576)) MiB at $logpath"

cat >"$TMP/mfbot.yaml" <<EOF
environments:
  bench:
    services:
      bench: {container: $NAME}
EOF

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
: >"$TMP/docker.txt"
: >"$TMP/mfbot.txt"
: >"$TMP/baseline.txt"
# One unmeasured run of each warms the page cache.
measure "$TMP/warm.txt" docker logs --tail "$TAIL" "$NAME"
measure "$TMP/warm.txt" "${MFBOT[@]}" "logs bench --tail $TAIL"
for ((r = 1; r <= ROUNDS; r++)); do
	measure "$TMP/docker.txt" docker logs --tail "$TAIL" "$NAME"
	measure "$TMP/mfbot.txt" "${MFBOT[@]}" "logs bench --tail $TAIL"
	measure "$TMP/baseline.txt" "${MFBOT[@]}" help
	log "  round $r: docker $(tail -n 1 "$TMP/docker.txt" | cut -d' ' -f1)s, mfbot $(tail -n 1 "$TMP/mfbot.txt" | awk '{printf "%ss %.1f MB", $1, $2 / 1024}'), help $(tail -n 1 "$TMP/baseline.txt" | awk '{printf "%.1f MB", $2 / 1024}')"
done

docker_wall=$(median "$TMP/docker.txt" 1)
mfbot_wall=$(median "$TMP/mfbot.txt" 1)
mfbot_rss=$(median "$TMP/mfbot.txt" 2)
base_rss=$(median "$TMP/baseline.txt" 2)
awk -v dw="$docker_wall" -v mw="$mfbot_wall" -v mr="$mfbot_rss" -v br="$base_rss" \
	-v maxr="$MAX_RATIO" -v maxg="$MAX_GROWTH_MB" -v rounds="$ROUNDS" -v tail="$TAIL" '
BEGIN {
	ratio = (dw > 0) ? mw / dw : (mw > 0 ? 999 : 1)
	growth = (mr - br) / 1024
	okr = ratio <= maxr; okg = growth < maxg
	printf "bench-logs: medians of %d rounds, --tail %d on a %s\n", rounds, tail, "500+ MiB json-file log"
	printf "  docker logs wall     %8.3f s\n", dw
	printf "  mfbot logs wall      %8.3f s\n", mw
	printf "  ratio mfbot/docker   %8.2f    (target <= %.1f)  %s\n", ratio, maxr, okr ? "PASS" : "FAIL"
	printf "  mfbot peak RSS       %8.1f MB\n", mr / 1024
	printf "  baseline RSS (help)  %8.1f MB\n", br / 1024
	printf "  growth               %8.1f MB (target < %d MB)  %s\n", growth, maxg, okg ? "PASS" : "FAIL"
	printf "bench-logs: %s\n", (okr && okg) ? "PASS" : "FAIL"
	exit (okr && okg) ? 0 : 1
}'
