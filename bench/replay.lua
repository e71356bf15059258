-- wrk script: replays captured request bodies (one form-encoded body a line) against `serve`,
-- round robin, so wrk sends what the harness sends. Usage:
--   BODIES=bench/bodies.txt wrk -t1 -c64 -d10s -s bench/replay.lua http://127.0.0.1:PORT/
local bodies = {}
local path = os.getenv("BODIES") or "bench/bodies.txt"
for line in io.lines(path) do
  if #line > 0 then bodies[#bodies + 1] = line end
end
assert(#bodies > 0, "no bodies in " .. path)
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"

request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
