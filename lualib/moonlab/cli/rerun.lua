--- `moonlab rerun RUN [--rtol R] [--atol A] [--dir ROOT]`: re-executes a run from its record — the copy
-- of its script or recipe, with the recorded arguments (the params given) and seed; a `moonlab search` run: the
-- search again with its recorded options and --seed, into a fresh journal — as a new run tagged
-- rerun_of = RUN, then reports per final metric whether the new value matches (exactly, or within
-- |new - old| <= atol + rtol * |old|). Exit status 0 when every metric matches, 1 when one differs.
local ml = require "moonlab"

local USAGE = [[
usage: moonlab rerun RUN [--rtol R] [--atol A] [--dir ROOT]
  RUN        a run id, a unique prefix of one, or a run directory
  --rtol R   relative tolerance for a metric to match (default 0: exactly)
  --atol A   absolute tolerance (default 0)
  --dir ROOT where the runs are (default $MOONLAB_RUNS or ./runs)
The recorded copy of the script runs from the current directory, with the recorded
command-line arguments and ml.seed(recorded seed) before it; a search's run (moonlab
search RECIPE) searches again with its recorded options, into a fresh journal.
A trial is rerun through its search.]]

local fmt = string.format

local function say_error(msg)
  io.stderr:write("moonlab rerun: ", msg, "\n")
  return 2
end

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function exe()
  local lo = 0
  while arg[lo - 1] ~= nil do lo = lo - 1 end
  return arg[lo]
end

-- Whether the run was `moonlab search RECIPE ...` (a search's parent run): then the rerun is a search too.
local function is_search_command(meta)
  local cmd = meta.command or {}
  return meta.kind == "search" and cmd[2] == "search" and cmd[3] == meta.source.path
end

-- The arguments that followed the script on the recorded command line (without --no-track; a search's journal
-- left out: the rerun searches afresh into a journal of its own instead of resuming the recorded one).
local function script_args(meta)
  local cmd, out = meta.command or {}, {}
  local at
  for i, a in ipairs(cmd) do if a == meta.source.path then at = i end end
  if not at then return out end
  local search = is_search_command(meta)
  local i = at + 1
  while i <= #cmd do
    local a = cmd[i]
    if search and a == "--journal" then i = i + 1
    elseif not (a == "--no-track" or (search and a:match("^%-%-journal="))) then out[#out + 1] = a end
    i = i + 1
  end
  return out
end

local function parse(args)
  local o = { rtol = 0, atol = 0 }
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--rtol" or a == "--atol" then
      i = i + 1
      local v = tonumber(args[i])
      if not v or v < 0 then return nil, fmt("%s needs a number >= 0, got %s", a, tostring(args[i])) end
      o[a:sub(3)] = v
    elseif a == "--dir" then i = i + 1; o.dir = args[i]; if not o.dir then return nil, "--dir needs a directory" end
    elseif a == "-h" or a == "--help" then o.help = true
    elseif a:sub(1, 1) == "-" then return nil, fmt("unknown option '%s'", a)
    elseif o.ref then return nil, fmt("one RUN at a time (got '%s' and '%s')", o.ref, a)
    else o.ref = a end
    i = i + 1
  end
  return o
end

local function text(v)
  if type(v) == "number" then return math.type(v) == "integer" and tostring(v) or fmt("%.10g", v) end
  return v == nil and "-" or tostring(v)
end

local function rerun(o)
  local track = ml.track
  local meta = track.find(o.ref, o.dir)
  local old = track.read(meta.dir, { points = false })
  if meta.kind == "trial" and meta.parent then
    return say_error(fmt("run %s is trial %s of the search %s: rerun the search (moonlab rerun %s)", meta.id,
      tostring(meta.tags.trial or "?"), meta.parent, meta.parent))
  end
  if not meta.source or not meta.source.copy then
    return say_error(fmt("run %s has no copy of its script (it was started from the REPL or -e): nothing to re-execute", meta.id))
  end
  local search = is_search_command(meta)
  if meta.parent and not search then
    return say_error(fmt("run %s was opened inside the run %s by the same script: rerun that one (moonlab rerun %s)", meta.id,
      meta.parent, meta.parent))
  end
  local copy = old.dir .. "/" .. meta.source.copy
  local root = old.dir:match("^(.*)/[^/]+/[^/]+$") or track.root(o.dir)
  local seed = math.tointeger(meta.seed) or 0
  local parts = { "MOONLAB_RERUN_OF=" .. shell_quote(meta.id), "MOONLAB_RUNS=" .. shell_quote(root), shell_quote(exe()) }
  local journal
  if search then -- `moonlab search COPY ...` with its recorded --seed and options, into a fresh journal
    journal = os.tmpname()
    os.remove(journal)
    journal = journal .. ".search.jsonl"
    parts[#parts + 1] = "search"
    parts[#parts + 1] = shell_quote(copy)
    parts[#parts + 1] = "--journal"
    parts[#parts + 1] = shell_quote(journal)
  else
    parts[#parts + 1] = "-e"
    parts[#parts + 1] = shell_quote(fmt("ml.seed(%d)", seed))
    parts[#parts + 1] = shell_quote(copy)
  end
  for _, a in ipairs(script_args(meta)) do parts[#parts + 1] = shell_quote(a) end
  local cmd = table.concat(parts, " ")
  print(fmt("rerun of %s: %s", meta.id, cmd))
  io.stdout:flush()
  local t0 = ml._track.unix_time()
  local ok = os.execute(cmd)
  if journal then os.remove(journal); os.remove((journal:gsub("%.jsonl$", "")) .. ".csv") end
  local new
  for _, m in ipairs(track.list(root, meta.experiment)) do
    if m.tags.rerun_of == meta.id and m.parent == nil and (m.start_time or 0) >= t0 - 1 and m.id ~= meta.id then new = m; break end
  end
  if not new then
    return say_error(fmt("the rerun%s recorded no run in experiment '%s' (does the script call ml.track.start?)",
      ok and "" or " failed and", meta.experiment))
  end
  local rec = track.read(new.dir, { points = false })
  print(fmt("new run %s (%s)", new.id, rec.meta.status))
  local keys = {}
  for k in pairs(old.final) do keys[#keys + 1] = k end
  table.sort(keys)
  local all = rec.meta.status == "finished"
  local width = 6
  for _, k in ipairs(keys) do width = math.max(width, #k) end
  print(fmt("%-" .. width .. "s  %-18s  %-18s  %s", "metric", "recorded", "rerun", "match"))
  for _, k in ipairs(keys) do
    local a, b = old.final[k], rec.final[k]
    local verdict
    if b == nil then verdict = "MISSING"
    elseif a == b then verdict = "exact"
    elseif type(a) == "number" and type(b) == "number" and math.abs(b - a) <= o.atol + o.rtol * math.abs(a) then
      verdict = fmt("within tolerance (diff %.3g)", math.abs(b - a))
    else verdict = fmt("DIFFERS (diff %s)", (type(a) == "number" and type(b) == "number") and fmt("%.3g", math.abs(b - a)) or "?") end
    if verdict:sub(1, 1) == "D" or verdict == "MISSING" then all = false end
    print(fmt("%-" .. width .. "s  %-18s  %-18s  %s", k, text(a), text(b), verdict))
  end
  print(all and "the rerun reproduces the run" or "the rerun does NOT reproduce the run")
  return all and 0 or 1
end

return {
  summary = "re-execute a recorded run (its script copy, params and seed) and check that its metrics match",
  usage = USAGE,
  run = function(args)
    local o, err = parse(args)
    if not o then return say_error(err .. "\n" .. USAGE) end
    if o.help then print(USAGE) return 0 end
    if not o.ref then return say_error("which run? " .. USAGE) end
    local ok, status = pcall(rerun, o)
    if not ok then return say_error(tostring(status):gsub("^[^:\n]*moonlab/[%w_/]+%.lua:%d+: ", "")) end
    return status
  end,
}
