-- wrk script for bench-api (issue 20): the bearer token, and each connection's own
-- latencies. Run with as many threads as connections (-tN -cN): every wrk thread then
-- drives one connection, so a thread's figures are that connection's.
-- Writes one line per connection to $WRK_CONNECTIONS_FILE: how long its unanswered
-- request had waited when the run ended (-1 if none), then each answered request's
-- latency, in milliseconds. wrk leaves both out of its own figures past --timeout.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } capacity_timespec;
int clock_gettime(int clock, capacity_timespec *spec);
]]
local CLOCK_MONOTONIC = 1
local spec = ffi.new("capacity_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, spec)
  return tonumber(spec.tv_sec) * 1000 + tonumber(spec.tv_nsec) / 1e6
end

local token = os.getenv("WRK_BEARER_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

sent_at = -1
latencies = {}

function request()
  sent_at = now_ms()
  return wrk.format()
end

function response(status, headers, body)
  latencies[#latencies + 1] = now_ms() - sent_at
  sent_at = -1
end

function done(summary, latency, requests)
  local ended = now_ms()
  local out = assert(io.open(os.getenv("WRK_CONNECTIONS_FILE"), "w"))
  for _, thread in ipairs(threads) do
    local pending = thread:get("sent_at")
    local line = { string.format("%.3f", pending >= 0 and ended - pending or -1) }
    for _, value in ipairs(thread:get("latencies")) do
      line[#line + 1] = string.format("%.3f", value)
    end
    out:write(table.concat(line, " "), "\n")
  end
  out:close()
end
