-- wrk script: the retry storm.  Every drop-off is sent twice at once, with
-- the same Idempotency-Key and body, as a handheld that retried after a
-- timeout while its first try was still queued: consecutive requests of a
-- thread (which wrk spreads over its connections) come in pairs.
-- Env: BENCH_DIR (codes.txt), ATT_TOKEN.
local codes = {}
local counter = 0
local tag
local body

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end

function init(args)
  for line in io.lines(os.getenv("BENCH_DIR") .. "/codes.txt") do
    if #line > 0 then codes[#codes + 1] = line end
  end
  tag = tid .. "-" .. tostring(os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("ATT_TOKEN")
end

function request()
  counter = counter + 1
  if counter % 2 == 1 then
    local code = codes[math.random(#codes)]
    body = string.format('{"code":"%s","items":[{"category":"bench_mixed","grams":%d}]}',
                         code, math.random(100, 5000))
  end
  wrk.headers["Idempotency-Key"] = "storm-" .. tag .. "-" .. math.floor((counter + 1) / 2)
  return wrk.format(nil, "/v1/dropoffs", nil, body)
end
