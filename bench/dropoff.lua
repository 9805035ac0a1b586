-- wrk script: POST /v1/dropoffs with a unique Idempotency-Key per request,
-- a random household of the bench village and one paid line.
-- Env: BENCH_DIR (codes.txt), ATT_TOKEN.
local codes = {}
local counter = 0
local tag

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
  local code = codes[math.random(#codes)]
  local body = string.format('{"code":"%s","items":[{"category":"bench_mixed","grams":%d}]}',
                             code, math.random(100, 5000))
  wrk.headers["Idempotency-Key"] = "wrk-" .. tag .. "-" .. counter
  return wrk.format(nil, "/v1/dropoffs", nil, body)
end
