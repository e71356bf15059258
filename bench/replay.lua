-- replay.lua: wrk replays the request bodies a harness run sent (bench/compare records them,
-- one per line, in the file named by BODIES), each wrk thread from its own offset, with the
-- headers the harness sends. The Authorization header has the SigV4 shape emulators route by
-- (service ec2, us-east-1, AWS's published example key); neither `serve` nor moto checks the
-- signature, so it is not computed. With COUNT_FILE set it also counts its answers (below).

local bodies = {}
local count = 0
local next_index = 0
local headers = {}
local thread_number = 0

function setup(thread)
   thread:set("offset", thread_number)
   thread_number = thread_number + 1
end

function init(args)
   for line in io.lines(os.getenv("BODIES")) do
      count = count + 1
      bodies[count] = line
   end
   if count == 0 then
      error("no bodies in " .. os.getenv("BODIES"))
   end
   -- Threads start apart so that two of them do not send the same body at the same moment.
   next_index = ((offset or 0) * 7919) % count
   local day = os.date("!%Y%m%d")
   headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
   headers["X-Amz-Date"] = day .. "T000000Z"
   headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/" .. day
      .. "/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="
      .. string.rep("0", 64)
end

function request()
   next_index = next_index % count + 1
   return wrk.format("POST", "/", headers, bodies[next_index])
end

-- With COUNT_FILE set (bench/turns.py), the number of responses so far, rewritten in place
-- after each one: twelve digits in one write, so a wrk stopped at any moment leaves a whole
-- number there. Left undefined otherwise: wrk then does no per-response work in Lua.
if os.getenv("COUNT_FILE") then
   local file = nil
   local answered = 0
   function response(status, headers, body)
      if not file then
         file = io.open(os.getenv("COUNT_FILE"), "w")
         file:setvbuf("no")
      end
      answered = answered + 1
      file:seek("set", 0)
      file:write(string.format("%012d", answered))
   end
end
