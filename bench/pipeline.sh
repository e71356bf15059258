#!/usr/bin/env bash
# Harness vs wrk against one `serve`, at concurrency 1, 8 and 64, with the same request bodies
# (bench/replay.lua replays what the harness sent). Prints requests/s of each, their ratio, and
# the harness's CPU time per request. Usage: bench/pipeline.sh BINARY [CASES] [SECONDS_OF_WRK]
set -euo pipefail
bin=${1:?binary}
cases=${2:-20000}
secs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
"$bin" serve --addr "127.0.0.1:$port" 2>"$tmp/serve.log" &
serve=$!
trap 'kill $serve 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 1
url="http://127.0.0.1:$port/"
# The bodies the harness sends, captured once from a JSON report.
"$bin" run --quiet --endpoint "$url" --cases 2000 --concurrency 8 --format json --output "$tmp/r.json" || true
python3 "$here/bodies.py" <"$tmp/r.json" >"$tmp/bodies.txt"
steps=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(sum(1+len(c.get('setup',[])) for c in r['cases'])/len(r['cases']))" "$tmp/r.json")
echo "requests per case: $steps"
printf '%4s %12s %12s %7s %14s\n' C harness_rps wrk_rps ratio cpu_us_per_req
for c in 1 8 64; do
  n=$cases
  [ "$c" = 1 ] && n=$((cases / 4))
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$bin" run --quiet --endpoint "$url" --cases "$n" --concurrency "$c" \
    --output /dev/null || true
  # The last line: /usr/bin/time puts "Command exited with non-zero status" (deviations) above it.
  read -r wall user sys < <(tail -1 "$tmp/time")
  reqs=$(python3 -c "print($n * $steps)")
  hrps=$(python3 -c "print(round($reqs / $wall))")
  cpu=$(python3 -c "print(round(($user + $sys) / $reqs * 1e6, 1))")
  wrps=$(BODIES="$tmp/bodies.txt" wrk -t1 -c"$c" -d"${secs}s" -s "$here/replay.lua" "$url" | awk '/Requests\/sec/ {print $2}')
  ratio=$(python3 -c "print(round($hrps / $wrps, 2))")
  printf '%4s %12s %12s %7s %14s\n' "$c" "$hrps" "$wrps" "$ratio" "$cpu"
done
