-- The one wrk script of `make bench`. What to request comes from the environment:
--   BENCH_TOKEN     a JWT access token (no Authorization header when unset)
--   BENCH_MODE      get (the same URL), distinct (a different product filter every request,
--                   so every request misses the cache) or order (POST /api/orders/)
--   BENCH_PRODUCTS  comma-separated product ids to order from, at random
--   BENCH_COUNT_CACHE  when set, count the responses' X-Cache: HIT and MISS
-- done() prints one JSON line that contract_tests/bench/run.py reads.
local token = os.getenv("BENCH_TOKEN")
local mode = os.getenv("BENCH_MODE") or "get"
local products = {}
for id in string.gmatch(os.getenv("BENCH_PRODUCTS") or "", "%d+") do
  products[#products + 1] = id
end

local thread_count = 0
local threads = {}
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  threads[thread_count] = thread
end

hits, misses = 0, 0
if os.getenv("BENCH_COUNT_CACHE") then
  function response(status, headers, body)
    local x_cache = headers["X-Cache"]
    if x_cache == "HIT" then
      hits = hits + 1
    elseif x_cache == "MISS" then
      misses = misses + 1
    end
  end
end

local counter = 0
function init(args)
  math.randomseed(42 + (thread_id or 0))
  if token then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  if mode == "order" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  end
end

function request()
  counter = counter + 1
  if mode == "distinct" then
    local price = (thread_id or 0) * 1000000 + counter
    return wrk.format(nil, wrk.path .. "?max_price=" .. price .. ".99")
  elseif mode == "order" then
    local product = products[math.random(#products)]
    return wrk.format(nil, nil, nil, '{"items": [{"product": ' .. product .. ', "quantity": 1}]}')
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local e = summary.errors
  local all_hits, all_misses = 0, 0
  for _, thread in ipairs(threads) do
    all_hits = all_hits + thread:get("hits")
    all_misses = all_misses + thread:get("misses")
  end
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "socket_errors": %d, "non_2xx": %d, "hits": %d, "misses": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, all_hits, all_misses))
end
