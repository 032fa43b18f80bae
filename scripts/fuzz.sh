#!/usr/bin/env bash
# Runs every fuzz target (every `func FuzzX` in a _test.go file) for the
# given time (default 1m). A failing input is written to the package's
# testdata/fuzz/FuzzX/ and becomes a regression seed.
#
# Go 1.26's fuzzing coordinator can report a bare "context deadline
# exceeded" when -fuzztime ends while a worker is mid-run (go.dev/issue/75804,
# fixed in Go 1.27): no input failed, nothing was written. Such a run, and
# only such a run, is repeated once; a second failure of any kind fails.
set -euo pipefail
fuzztime=${1:-1m}
go=${GO:-go}

# boundary_flake: the output of a failed run is the coordinator's deadline
# race and nothing else (no failing input, no panic, no test failure).
boundary_flake() {
  grep -q 'context deadline exceeded' <<<"$1" &&
    ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' <<<"$1"
}

# run fuzzes target $1 of package directory $2 and prints what go test says.
run() { "$go" test -run '^$' -fuzz "^$1\$" -fuzztime "$fuzztime" "./$2" 2>&1; }

grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
  dir=$(dirname "$f")
  for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
    echo "fuzz: $dir $name ($fuzztime)"
    if ! out=$(run "$name" "$dir"); then
      if ! boundary_flake "$out"; then
        echo "$out"
        exit 1
      fi
      echo "fuzz: $name ended on the fuzztime deadline race (go.dev/issue/75804), not on an input: once more"
      if ! out=$(run "$name" "$dir"); then
        echo "$out"
        exit 1
      fi
    fi
    echo "$out" | tail -n 2
  done
done
