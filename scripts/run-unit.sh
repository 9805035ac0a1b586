#!/bin/sh
# run-unit.sh DIR: run every cmocka test program in DIR, print a summary,
# exit non-zero if any failed.  cmocka's exit code is its failure count.
set -u
dir=${1:-bin-san/tests}
pass=0
fail=0
for t in "$dir"/test_*; do
    [ -x "$t" ] || continue
    if "$t"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "unit: $(basename "$t") FAILED" >&2
    fi
done
echo "unit test programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
