-- wrk script: GET /v1/residents/me/balance as a random bench resident.
-- Env: BENCH_DIR (residents.txt).
local tokens = {}

function init(args)
  for line in io.lines(os.getenv("BENCH_DIR") .. "/residents.txt") do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
end

function request()
  local t = tokens[math.random(#tokens)]
  return wrk.format("GET", "/v1/residents/me/balance", { ["Authorization"] = "Bearer " .. t })
end
