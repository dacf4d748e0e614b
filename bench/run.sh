#!/bin/sh
# Run every benchmark in bench/ (make bench).  Each script prints its own
# figures with the baseline it is compared against, measured in the same run.
set -eu
cd "$(dirname "$0")"
status=0
for b in *.sh; do
    [ "$b" = run.sh ] && continue
    echo "== bench/$b"
    sh "./$b" || { echo "bench/$b failed" >&2; status=1; }
done
exit $status
