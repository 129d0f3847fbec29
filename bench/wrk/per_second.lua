-- users.lua's load (a random user per request, on the path given after `--`), and the successful
-- answers of each wall-clock second counted, printed at the end as `second UNIX_TIME COUNT` lines:
-- throughput over time through a run that changes half-way. wrk runs from the repository root.
dofile("bench/wrk/users.lua")

local threads = {}
local users_init = init

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  users_init(args)
  counts = {}
end

function response(status, headers, body)
  if status < 400 then
    local t = os.time()
    counts[t] = (counts[t] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for t, n in pairs(thread:get("counts")) do
      total[t] = (total[t] or 0) + n
    end
  end
  for t, n in pairs(total) do
    io.write(string.format("second %d %d\n", t, n))
  end
end
