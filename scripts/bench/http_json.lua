-- One round of the http_json benchmark (driven by http_json.sh): for each
-- row count, the median microseconds of ml.http.json_rows(text) and of
-- ml.tensor(ml.json.decode(text).inputs), on {"inputs": [[784 floats] x n]}.
-- Prints "json_rows N us" and "decode_tensor N us" lines.
local rows_list = {}
for n in (arg[1] or "1 64"):gmatch("%d+") do rows_list[#rows_list + 1] = tonumber(n) end
local secs = tonumber(arg[2] or "0.5")
ml.seed(1)
for _, n in ipairs(rows_list) do
  local X = ml.rand(n, 784)
  local text = ml.json.encode({ inputs = X:tolist() })
  local function run(fn)
    local reps = 1
    local t = ml.now()
    fn()
    local one = ml.now() - t
    reps = math.max(5, math.floor(secs / math.max(one, 1e-6)))
    local times = {}
    for i = 1, reps do
      local t0 = ml.now()
      fn()
      times[i] = ml.now() - t0
    end
    table.sort(times)
    return times[(reps + 1) // 2] * 1e6
  end
  local a = run(function() return ml.http.json_rows(text) end)
  local b = run(function() return ml.tensor(ml.json.decode(text).inputs, { dtype = "float32" }) end)
  print(("json_rows %d %.1f"):format(n, a))
  print(("decode_tensor %d %.1f"):format(n, b))
end
