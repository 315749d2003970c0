#!/usr/bin/env bash
# The project's test command (README, .ci/run): brings the real test environment up, runs go vet and
# every test, unit and integration (build tag "integration"), in one go test invocation (one package
# at a time: they share the stack), then tears the environment down whatever happened. Extra
# arguments go to go test, e.g.
#   bash testenv/test.sh -run TestRestart -v
# Exit status: go vet's if it fails, else go test's.
set -euo pipefail

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
	export PATH=$PATH:/usr/local/go/bin
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$(dirname "$here")"

teardown() {
	local rc=$?
	echo "testenv: tearing down"
	bash "$here/down.sh" || echo "testenv: WARNING: down.sh failed" >&2
	exit "$rc"
}
trap teardown EXIT

bash "$here/up.sh"
# shellcheck source=/dev/null
source "$here/.state/env"

echo "testenv: go vet -tags integration ./..."
go vet -tags integration ./...

# -p 1: the integration tests of different packages share one stack (remote_app_1 is recreated,
# crashed, made unhealthy...), so their test binaries must not run at the same time. go vet above has
# already compiled the dependencies, so this costs little build time.
echo "testenv: go test -count=1 -tags integration -timeout 20m -p 1 ./... $*"
rc=0
go test -count=1 -tags integration -timeout 20m -p 1 ./... "$@" || rc=$?
echo "testenv: go test exited with status $rc"

# A short run of every fuzz target (their committed seeds already ran above as plain tests). A count,
# not a duration: a -fuzztime duration that ends while the engine minimizes an input can fail the run
# with "context deadline exceeded", which is no finding. Minimizing a new interesting input (not a
# failure) may otherwise take a minute of its own (the default -fuzzminimizetime): 100 tries bound it.
fuzztime=${MFBOT_FUZZTIME:-5000x}
minimizetime=${MFBOT_FUZZMINIMIZETIME:-100x}
for target in commands:FuzzParseCommand commands:FuzzCanonicalRoundTrip commands:FuzzRedactSecrets config:FuzzParseDatabaseURL \
	bot:FuzzSlackSignature adapters/slack:FuzzRender; do
	pkg=${target%%:*} name=${target##*:}
	echo "testenv: go test -run '^\$' -fuzz '^$name\$' -fuzztime $fuzztime -fuzzminimizetime $minimizetime ./$pkg/"
	go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "./$pkg/" || rc=$?
done
echo "testenv: done, status $rc"
exit "$rc"
