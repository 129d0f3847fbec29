-- As users.lua, and counts the successful answers of each wall-clock second, printed at the end as
-- `second UNIX_TIME COUNT` lines: throughput over time through a run that changes half-way.
local path = "/"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  path = args[1] or "/"
  counts = {}
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local sep = string.find(path, "?", 1, true) and "&" or "?"
  return wrk.format("GET", path .. sep .. "user=" .. math.random(1, 100000))
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
