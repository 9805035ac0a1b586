-- wrk script: POST /v1/redemptions, card + PIN consent, one point, a
-- unique Idempotency-Key per request, a random PIN-holding household.
-- Env: BENCH_DIR (pin_codes.txt), CLERK_TOKEN.
local codes = {}
local counter = 0
local tag

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end

function init(args)
  for line in io.lines(os.getenv("BENCH_DIR") .. "/pin_codes.txt") do
    if #line > 0 then codes[#codes + 1] = line end
  end
  tag = tid .. "-" .. tostring(os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("CLERK_TOKEN")
end

function request()
  counter = counter + 1
  local body = string.format('{"code":"%s","pin":"4821","points":1}', codes[math.random(#codes)])
  wrk.headers["Idempotency-Key"] = "wrk-r-" .. tag .. "-" .. counter
  return wrk.format(nil, "/v1/redemptions", nil, body)
end
