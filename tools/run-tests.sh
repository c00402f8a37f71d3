#!/usr/bin/env bash
# Runs every test binary of `cargo test --workspace --all-targets` two at a time.
#
# Why: cargo runs test binaries one after another, and the slow ones (Verilator builds and
# runs, Yosys) are single-threaded tools, so one core idles most of the run. Selecting packages
# per `cargo test` call instead would change feature unification and rebuild half the
# workspace, so this builds once (`--no-run`), reads the executables from cargo's JSON
# messages, and runs them itself the way `cargo test` does: from the package's directory, the
# slowest first, each binary's output printed in one piece when it ends.
#
# Usage: tools/run-tests.sh [extra cargo args...]   (JOBS=N to change the parallelism)
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
JOBS=${JOBS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Built once with cargo's usual output (compiler errors readable in the log), then listed: the
# second call finds everything fresh and only prints the JSON artifact messages.
"$CARGO" test --workspace --all-targets --locked --no-run "$@"
"$CARGO" test --workspace --all-targets --locked --no-run --message-format=json "$@" >"$work/build.json"

# One line per test binary: "<package dir> <executable> <target name>".
# (`"test":true` in the profile: the CLI binary the tests run is listed with an executable too.)
grep '"executable":"/' "$work/build.json" | grep -E '"profile":\{[^}]*"test":true' |
    sed -E 's/.*"manifest_path":"([^"]*)\/Cargo\.toml".*"name":"([^"]*)".*"executable":"([^"]*)".*/\1 \3 \2/' >"$work/binaries"
if [ ! -s "$work/binaries" ]; then
    echo "run-tests: cargo listed no test executables" >&2
    exit 1
fi

# Longest first (measured on the 2-core CI machine), the rest after them in cargo's order.
slow="top conv_unit cli models post_unit resources im2col array dma"
{
    for name in $slow; do awk -v n="$name" '$3 == n' "$work/binaries"; done
    awk -v s=" $slow " 'index(s, " " $3 " ") == 0' "$work/binaries"
} >"$work/queue"

run_one() {
    local dir=$1 exe=$2 name=$3 log
    log=$(mktemp "$RUN_TESTS_WORK/log.XXXXXX")
    local start=$SECONDS status=0
    (cd "$dir" && "$exe") >"$log" 2>&1 || status=$?
    {
        echo "===== $name ($(basename "$exe"), $((SECONDS - start)) s, exit $status)"
        cat "$log"
    } | flock "$RUN_TESTS_WORK/print.lock" cat
    if [ "$status" -ne 0 ]; then echo "$name" >>"$RUN_TESTS_WORK/failed"; fi
    return 0
}
export -f run_one
export RUN_TESTS_WORK=$work
touch "$work/failed"

xargs -P "$JOBS" -L 1 bash -c 'run_one "$0" "$1" "$2"' <"$work/queue"

count=$(wc -l <"$work/queue")
if [ -s "$work/failed" ]; then
    echo "run-tests: FAILED in $(tr '\n' ' ' <"$work/failed")($(wc -l <"$work/failed") of $count test binaries)" >&2
    exit 1
fi
echo "run-tests: all $count test binaries passed"
