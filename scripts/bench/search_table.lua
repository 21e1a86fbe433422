-- scripts/bench/search.sh's table: mean and median best value per function and method.
--   moonlab search_table.lua RESULTS
local v, keys = {}, {}
for line in io.lines(arg[1]) do
  local fn, m, val = line:match("^BEST (%S+) (%S+) %S+ (%S+)")
  if fn then
    local k = fn .. " " .. m
    if not v[k] then v[k] = {} keys[#keys + 1] = k end
    table.insert(v[k], tonumber(val))
  end
end
table.sort(keys)
for _, k in ipairs(keys) do
  local a = v[k] table.sort(a)
  local s = 0 for _, x in ipairs(a) do s = s + x end
  local n = #a
  local med = n % 2 == 1 and a[(n + 1) // 2] or (a[n // 2] + a[n // 2 + 1]) / 2
  local fn, m = k:match("(%S+) (%S+)")
  print(string.format("%-12s %-14s %12.5g %12.5g", fn, m, s / n, med))
end