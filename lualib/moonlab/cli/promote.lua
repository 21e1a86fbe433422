--- `moonlab promote`: copies a candidate model into a versions directory only when it beats the current one.
--   moonlab promote CANDIDATE --over DIR --data DATA [--metric f1_macro] [--min-delta 0.0] [--name NAME]
-- DIR is a versions directory (models/NAME holding 1/, 2/ ... each with model.safetensors), or a root
-- holding such directories (models/, with --name NAME or the candidate's own name), or a model file
-- inside one (models/NAME/2/model.safetensors). Both models are evaluated on DATA (what `moonlab eval`
-- reads) with one metric (greater is better, metrics.get_scorer's names); the candidate is copied as
-- version N+1 when its score exceeds the current greatest version's by more than --min-delta, or when
-- there is no version yet. The copy is written in a hidden directory (DIR/.N+1.tmp-PID) which is then
-- renamed to DIR/N+1, so a server watching DIR never sees a partial version.
-- Exit status: 0 promoted, 1 not promoted, 2 usage or input error.
local ml = require "moonlab"
local lfs = require "lfs"
local fs = require "moonlab.core.fs"

local fmt = string.format
local eval = require "moonlab.cli.eval"
local usage_error = eval.usage_error

local USAGE = [[
usage: moonlab promote CANDIDATE --over DIR --data DATA [options]
  CANDIDATE        the new model (a bundle, or a model:save / est:save / pipeline file)
  --over DIR       the versions directory (models/NAME with 1/, 2/ ... inside), a root of them (models/,
                   the candidate's name or --name picks NAME), or the current model file inside one
  --data DATA      what both are evaluated on (a CSV, a builtin data set, "X.npy,y.npy"; see moonlab eval)
options:
  --metric NAME    the metric to compare (greater is better; default accuracy, r2 for regressors)
  --min-delta D    the candidate must beat the current version by more than D (default 0)
  --name NAME      the model's name under a root directory
  --target COL     the label column of a CSV file
  --limit N        only the first N rows of DATA
exit status: 0 promoted (copied as the next version), 1 not promoted, 2 usage or input error]]

local function is_dir(p) return lfs.attributes(p, "mode") == "directory" end
local function is_file(p) return lfs.attributes(p, "mode") == "file" end

-- the version numbers under dir (subdirectories named 1, 2, ...), sorted
local function versions(dir)
  local out = {}
  if not is_dir(dir) then return out end
  for entry in lfs.dir(dir) do
    local n = entry:match("^%d+$") and math.tointeger(tonumber(entry))
    if n and is_dir(dir .. "/" .. entry) then out[#out + 1] = n end
  end
  table.sort(out)
  return out
end

-- the model file of a version directory: model.safetensors, else its only .safetensors file
local function model_file(vdir)
  if is_file(vdir .. "/model.safetensors") then return vdir .. "/model.safetensors" end
  local found = {}
  for entry in lfs.dir(vdir) do
    if entry:match("%.safetensors$") and not entry:match("^%.") then found[#found + 1] = vdir .. "/" .. entry end
  end
  table.sort(found)
  return found[1]
end

-- the versions directory --over names
local function versions_dir(over, name, candidate_name)
  if is_file(over) then
    local dir = over:match("^(.*)/%d+/[^/]+$")
    if not dir then
      usage_error("--over '%s' is a model file outside a versions directory (models/NAME/N/model.safetensors); give the directory", over)
    end
    return dir
  end
  if name then return over .. "/" .. name end
  if #versions(over) > 0 then return over end
  if is_dir(over) and candidate_name and is_dir(over .. "/" .. candidate_name) then return over .. "/" .. candidate_name end
  return over
end

local function mkdir_p(path)
  local ok, err = pcall(fs.mkdir_p, "moonlab promote", path)
  if not ok then usage_error("%s", tostring(err):gsub("^moonlab promote: ", "")) end
end

local function copy_file(src, dst)
  local ok, err = fs.copy_file(src, dst)
  if not ok then usage_error("cannot copy '%s' to '%s': %s", src, dst, tostring(err)) end
end

--- install(candidate, dir, n) -> path of DIR/n/model.safetensors: the copy in a hidden directory, renamed into place
local function install(candidate, dir, n)
  mkdir_p(dir)
  local tmp = fmt("%s/.%d.tmp-%d", dir, n, ml._proc.getpid())
  local ok, err = lfs.mkdir(tmp)
  if not ok then usage_error("cannot create '%s': %s", tmp, tostring(err)) end
  copy_file(candidate, tmp .. "/model.safetensors")
  local final = fmt("%s/%d", dir, n)
  local renamed, rerr = os.rename(tmp, final)
  if not renamed then
    os.remove(tmp .. "/model.safetensors")
    lfs.rmdir(tmp)
    usage_error("cannot move the new version into '%s': %s (did another promote take version %d?)", final, tostring(rerr), n)
  end
  return final .. "/model.safetensors"
end

local function parse(args)
  local o = { pos = {}, min_delta = 0 }
  local i = 1
  local function value(flag)
    i = i + 1
    if args[i] == nil then usage_error("%s needs a value", flag) end
    return args[i]
  end
  local known = { "--over", "--data", "--metric", "--min-delta", "--name", "--target", "--limit" }
  while i <= #args do
    local a = args[i]
    local flag, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    if flag then a = flag table.insert(args, i + 1, inline) end
    if a == "--over" then o.over = value(a)
    elseif a == "--data" then o.data = value(a)
    elseif a == "--metric" then
      if o.metric then usage_error("give one --metric (promote compares on one)") end
      o.metric = value(a)
    elseif a == "--min-delta" then
      o.min_delta = tonumber(value(a))
      if not o.min_delta or o.min_delta ~= o.min_delta then usage_error("--min-delta must be a number, got '%s'", args[i]) end
    elseif a == "--name" then o.name = value(a)
    elseif a == "--target" then o.target = value(a)
    elseif a == "--limit" then
      o.limit = math.tointeger(tonumber(value(a)))
      if not o.limit or o.limit < 1 then usage_error("--limit must be a positive integer, got '%s'", args[i]) end
    elseif a == "-h" or a == "--help" then o.help = true
    elseif a:sub(1, 2) == "--" then
      local hint = require("moonlab.core.checks").suggest(a, known)
      usage_error("unknown option '%s'%s", a, hint and fmt("; did you mean '%s'?", hint) or "")
    else o.pos[#o.pos + 1] = a end
    i = i + 1
  end
  return o
end

local function run(args)
  local ok, status = pcall(function()
    local o = parse(args)
    if o.help then print(USAGE) return 0 end
    if #o.pos ~= 1 then usage_error("expected one CANDIDATE, got %d", #o.pos) end
    if not o.over then usage_error("--over DIR is required (the versions directory)") end
    if not o.data then usage_error("--data DATA is required") end
    local candidate = o.pos[1]
    local metrics = o.metric and { o.metric } or {}
    local cand = eval.evaluate(candidate, o.data, metrics, o)
    local metric = cand.order[1]
    local dir = versions_dir(o.over, o.name, cand.bundle.name)
    local vs = versions(dir)
    local cur_n = vs[#vs]
    local cscore = cand.metrics[metric]
    print(fmt("candidate %s: %s = %.4f on %s (%d rows)", candidate, metric, cscore, cand.data, cand.n))
    local promote, why
    if not cur_n then
      promote, why = true, fmt("no version in %s yet", dir)
    else
      local vdir = fmt("%s/%d", dir, cur_n)
      local path = model_file(vdir)
      if not path then usage_error("version %d (%s) holds no .safetensors file", cur_n, vdir) end
      local cur = eval.evaluate(path, o.data, { metric }, o)
      local score = cur.metrics[metric]
      print(fmt("current   %s (version %d): %s = %.4f", path, cur_n, metric, score))
      local delta = cscore - score
      promote = delta > o.min_delta
      if delta == 0 then why = fmt("the candidate ties the current version (min delta %g)", o.min_delta)
      else
        why = fmt("the candidate %s the current version by %.4g (min delta %g)", delta > 0 and "beats" or "trails",
          math.abs(delta), o.min_delta)
        if delta > 0 and not promote then why = why .. ", not by more" end
      end
    end
    if not promote then
      print("not promoted: " .. why)
      return 1
    end
    local n = (cur_n or 0) + 1
    local dest = install(candidate, dir, n)
    print(fmt("promoted: %s -> %s (version %d)", why, dest, n))
    return 0
  end)
  if ok then return status end
  if eval.is_usage_error(status) then
    io.stderr:write("moonlab promote: ", status.msg, "\n")
    if status.msg:find("^expected one") or status.msg:find("^unknown option") or status.msg:find("required") then
      io.stderr:write(USAGE, "\n")
    end
    return 2
  end
  error(status, 0)
end

return {
  summary = "copies a candidate model into a versions directory (models/NAME/N+1) only when it beats the current version",
  usage = USAGE,
  run = run,
}
