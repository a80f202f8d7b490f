-- wrk script for bench/http_load.py: one scenario per run, configured through the environment.
--
--   BENCH_PATHS     newline-separated request paths, used round-robin (a list of case pages)
--   BENCH_METHOD    GET (default) or POST
--   BENCH_HEADERS   newline-separated "Name: value" lines sent with every request (session and
--                   CSRF cookies, X-Forwarded-Proto as nginx sends it, Origin for the CSRF check)
--   BENCH_BODY      POST body (application/x-www-form-urlencoded) with placeholders:
--                   {token} a token unique to this request (the intake form's one-case-per-token),
--                   {lng} {lat} a random point in BENCH_BBOX, {id} a valid 18-digit identity number
--   BENCH_BBOX      "minlng,minlat,maxlng,maxlat" for {lng} {lat}
--   BENCH_EXPECT    the status that counts as success (default 200; the intake POST expects 302,
--                   its redirect to the new case; a 200 there is the form coming back with errors)
--
-- done() prints one line "BENCH_JSON {...}" that bench/http_load.py parses: requests, duration,
-- latency percentiles (ms), successes, failures (any other status, socket errors and timeouts)
-- and the first few unexpected statuses.

local threads = {}

local function split(text, sep)
  local out = {}
  for part in string.gmatch(text or "", "[^" .. sep .. "]+") do
    table.insert(out, part)
  end
  return out
end

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local paths, headers, method, body, bbox, expect
local counter = 0
-- GB 11643 check digit: weights and the check character for each remainder.
local W = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 }
local C = "10X98765432"

local function id_number(n)
  local first = string.format("210204%s%03d", os.date("%Y%m%d", 315532800 + (n * 86400) % 1200000000), n % 1000)
  local sum = 0
  for i = 1, 17 do
    sum = sum + tonumber(string.sub(first, i, i)) * W[i]
  end
  local r = sum % 11 + 1
  return first .. string.sub(C, r, r)
end

function init(args)
  ok = 0
  bad = 0
  unexpected = ""
  paths = split(os.getenv("BENCH_PATHS"), "\n")
  method = os.getenv("BENCH_METHOD") or "GET"
  body = os.getenv("BENCH_BODY")
  expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
  bbox = split(os.getenv("BENCH_BBOX") or "0,0,0,0", ",")
  for i = 1, 4 do
    bbox[i] = tonumber(bbox[i])
  end
  headers = {}
  for _, line in ipairs(split(os.getenv("BENCH_HEADERS"), "\n")) do
    local name, value = string.match(line, "^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  math.randomseed(1000 + tid)
end

function request()
  counter = counter + 1
  local path = paths[(counter - 1) % #paths + 1]
  if method ~= "POST" then
    return wrk.format(method, path, headers)
  end
  local n = tid * 10000000 + counter
  local filled = string.gsub(body, "{(%a+)}", function(key)
    if key == "token" then
      return string.format("bench-%d-%d-%d", os.time(), tid, counter)
    elseif key == "lng" then
      return string.format("%.6f", bbox[1] + math.random() * (bbox[3] - bbox[1]))
    elseif key == "lat" then
      return string.format("%.6f", bbox[2] + math.random() * (bbox[4] - bbox[2]))
    elseif key == "id" then
      return id_number(n)
    end
  end)
  return wrk.format(method, path, headers, filled)
end

function response(status, hdrs, resp_body)
  if status == expect then
    ok = ok + 1
  else
    bad = bad + 1
    if #unexpected < 60 then
      unexpected = unexpected .. status .. " "
    end
  end
end

function done(summary, latency, requests)
  local good, failed, seen = 0, 0, ""
  for _, t in ipairs(threads) do
    good = good + t:get("ok")
    failed = failed + t:get("bad")
    seen = seen .. t:get("unexpected")
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_s": %.3f, "ok": %d, "failed": %d, "socket_errors": %d, '
      .. '"timeouts": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, '
      .. '"mean_ms": %.2f, "unexpected": "%s"}\n',
    summary.requests, summary.duration / 1e6, good, failed + socket_errors, socket_errors,
    e.timeout, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000, seen
  ))
end
