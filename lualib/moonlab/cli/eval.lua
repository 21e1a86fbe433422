--- `moonlab eval`: a model's metrics on a data set, and a gate for CI/CD pipelines.
--   moonlab eval MODEL DATA [--metric accuracy ...] [--target COL] [--assert ">=0.88" ...] [--limit N] [--json]
-- MODEL is anything serve.bundle.load reads (a bundle, a model:save / est:save / pipeline file).
-- DATA is a CSV file (the target column named by --target, else "target", else the last column),
-- a builtin data set (fashion-mnist:test, fashion-mnist:train, breast_cancer, iris, wine, digits,
-- diabetes), or a pair of .npy files "X.npy,y.npy". Metrics are metrics.get_scorer's names.
-- Exit status: 0 all asserts hold, 1 one fails (which and by how much is printed), 2 a usage
-- or input error. The module also gives promote its evaluation (spec.evaluate, spec.load_data).
local ml = require "moonlab"
local persist = require "moonlab.core.persist"

local fmt = string.format

local USAGE = [[
usage: moonlab eval MODEL DATA [options]
  MODEL            a model bundle, or a file written by model:save, est:save or pipe:save
  DATA             a CSV file, a builtin data set (fashion-mnist:test, fashion-mnist:train, breast_cancer,
                   iris, wine, digits, diabetes) or "X.npy,y.npy"
options:
  --metric NAME    a metric (metrics.get_scorer's names: accuracy, f1_macro, roc_auc, r2, neg_log_loss ...);
                   repeat it for several (default: accuracy for classifiers, r2 for regressors)
  --target COL     the label column of a CSV file (default "target", else the last column)
  --assert COND    ">=0.88" (for the --metric before it, else the first), or "f1_macro>=0.85"; also >, <=, <, ==;
                   repeat it; a failed one exits 1
  --limit N        only the first N rows of DATA
  --json           print the result as JSON instead of a table
exit status: 0 ok, 1 an --assert failed, 2 usage or input error]]

-- an error the command reports and exits 2 with
local Usage = {}
local function usage_error(msg, ...) error(setmetatable({ msg = fmt(msg, ...) }, Usage), 0) end

local BUILTIN = {
  breast_cancer = "load_breast_cancer", iris = "load_iris", wine = "load_wine", digits = "load_digits",
  diabetes = "load_diabetes",
}

local function frame_xy(df, target, what)
  local names = df._names
  if #names < 2 then usage_error("%s has %d column%s; expected features and a target column", what, #names, #names == 1 and "" or "s") end
  if target then
    if not df:has_column(target) then
      local hint = require("moonlab.core.checks").suggest(target, names)
      usage_error("%s has no column '%s'%s", what, target, hint and fmt(" (did you mean '%s'?)", hint) or "")
    end
  elseif df:has_column("target") then target = "target"
  else target = names[#names] end
  local rest = {}
  for _, n in ipairs(names) do if n ~= target then rest[#rest + 1] = n end end
  return df:select(rest), df:column(target), target
end

local function labels_of(col)
  if col.kind == "string" or col.kind == "category" then
    return col:to_list()
  end
  return col.values
end

--- load_data(spec, {target, limit}) -> X (tensor or frame), y (tensor or list), description
local function load_data(spec, opts)
  opts = opts or {}
  local X, y, what
  local fashion = spec:match("^fashion%-mnist:(%a+)$") or spec:match("^fashion_mnist:(%a+)$")
  if fashion then
    if fashion ~= "test" and fashion ~= "train" then usage_error("'%s': the Fashion-MNIST splits are train and test", spec) end
    local train, test = ml.data.fashion_mnist()
    local set = fashion == "test" and test or train
    X, y, what = set.x, set.y, "Fashion-MNIST " .. fashion
  elseif BUILTIN[spec] then
    local df = ml.data[BUILTIN[spec]]()
    X, y = frame_xy(df, "target", spec)
    y, what = labels_of(y), spec
  elseif spec:find(",") then
    local xp, yp = spec:match("^([^,]+),([^,]+)$")
    if not xp then usage_error("'%s': expected a pair of .npy files X.npy,y.npy", spec) end
    local ok, a = pcall(ml.load, xp)
    if not ok then usage_error("%s", persist.strip(a)) end
    local ok2, b = pcall(ml.load, yp)
    if not ok2 then usage_error("%s", persist.strip(b)) end
    if a:size(1) ~= b:size(1) then usage_error("'%s' has %d rows but '%s' has %d labels", xp, a:size(1), yp, b:size(1)) end
    if b:dim() == 2 and b:size(2) == 1 then b = b:reshape(b:size(1)) end
    X, y, what = a, b, spec
  else
    local f = io.open(spec, "r")
    if not f then
      usage_error("DATA '%s' is neither a file nor a builtin data set (fashion-mnist:test, breast_cancer, iris, wine, digits, diabetes)", spec)
    end
    f:close()
    local ok, df = pcall(ml.data.read_csv, spec)
    if not ok then usage_error("%s", persist.strip(df)) end
    local col
    X, col = frame_xy(df, opts.target, "'" .. spec .. "'")
    y, what = labels_of(col), spec
  end
  local n = ml.is_tensor(X) and X:size(1) or X._n
  if opts.limit and opts.limit < n then
    X = ml.is_tensor(X) and X:narrow(1, 1, opts.limit) or X:head(opts.limit)
    y = ml.is_tensor(y) and y:narrow(1, 1, opts.limit) or table.move(y, 1, opts.limit, 1, {})
    n = opts.limit
  end
  if n == 0 then usage_error("%s has no rows", what) end
  return X, y, what, n
end

-- the bundle's input from raw X: images flattened for a network on rows, frames as the schema says
local function model_input(b, X)
  if ml.is_tensor(X) and X:dim() > 2 and b.input.features and X:numel() // X:size(1) == b.input.features then
    X = X:reshape(X:size(1), b.input.features)
  end
  if ml.is_tensor(X) then X = X:to("float32") end
  local ok, out = pcall(b.rows, b, X)
  if not ok then
    usage_error("the data does not fit the model: %s", type(out) == "table" and out.error or persist.strip(out))
  end
  return out
end

--- evaluate(model_path, data_spec, metrics, {target, limit}) -> {model, data, n, metrics = {name = value}, bundle}
local function evaluate(model_path, data_spec, metrics, opts)
  local okb, b = pcall(ml.serve.bundle.load, model_path)
  if not okb then usage_error("%s", persist.strip(b)) end
  local X, y, what, n = load_data(data_spec, opts)
  local input = model_input(b, X)
  if #metrics == 0 then metrics = { b.kind == "classifier" and "accuracy" or "r2" } end
  local est = b:estimator()
  local values = {}
  for _, name in ipairs(metrics) do
    local oks, scorer = pcall(ml.metrics.get_scorer, name)
    if not oks then usage_error("%s", persist.strip(scorer)) end
    local ok, v = pcall(scorer, est, input, y)
    if not ok then usage_error("metric '%s': %s", name, persist.strip(v)) end
    values[name] = v
  end
  return { model = model_path, data = what, n = n, metrics = values, order = metrics, bundle = b }
end

local OPS = {
  [">="] = function(a, b) return a >= b end, [">"] = function(a, b) return a > b end,
  ["<="] = function(a, b) return a <= b end, ["<"] = function(a, b) return a < b end,
  ["=="] = function(a, b) return a == b end,
}

local function parse_assert(text, last_metric)
  local name, op, num = text:match("^%s*([%w_]*)%s*([<>=]=?)%s*([-+%deE.]+)%s*$")
  local v = tonumber(num)
  if not name or not OPS[op] or not v or op == "=" then
    usage_error("--assert '%s': expected a condition like '>=0.88' or 'f1_macro>=0.85'", text)
  end
  return { metric = name ~= "" and name or last_metric, op = op, threshold = v, text = text }
end

local function parse(args)
  local o = { metrics = {}, asserts = {}, pos = {} }
  local last_metric
  local i = 1
  local function value(flag)
    i = i + 1
    local v = args[i]
    if v == nil then usage_error("%s needs a value", flag) end
    return v
  end
  while i <= #args do
    local a = args[i]
    local flag, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    if flag then a = flag table.insert(args, i + 1, inline) end
    if a == "--metric" then
      last_metric = value(a)
      o.metrics[#o.metrics + 1] = last_metric
    elseif a == "--assert" then o.asserts[#o.asserts + 1] = parse_assert(value(a), last_metric)
    elseif a == "--target" then o.target = value(a)
    elseif a == "--limit" then
      o.limit = math.tointeger(tonumber(value(a)))
      if not o.limit or o.limit < 1 then usage_error("--limit must be a positive integer, got '%s'", args[i]) end
    elseif a == "--json" then o.json = true
    elseif a == "-h" or a == "--help" then o.help = true
    elseif a:sub(1, 2) == "--" then
      local hint = require("moonlab.core.checks").suggest(a, { "--metric", "--assert", "--target", "--limit", "--json" })
      usage_error("unknown option '%s'%s", a, hint and fmt("; did you mean '%s'?", hint) or "")
    else o.pos[#o.pos + 1] = a end
    i = i + 1
  end
  return o
end

-- asserts without a metric name go to the first metric (the model's default one when none is given);
-- a named one not asked for is added
local function resolve_asserts(o)
  for _, a in ipairs(o.asserts) do
    if not a.metric and #o.metrics > 0 then a.metric = o.metrics[1] end
    local seen = a.metric == nil
    for _, m in ipairs(o.metrics) do if m == a.metric then seen = true end end
    if not seen then o.metrics[#o.metrics + 1] = a.metric end
  end
end

local function check_asserts(result, asserts)
  local failed = {}
  for _, a in ipairs(asserts) do
    local v = result.metrics[a.metric]
    a.value, a.ok = v, OPS[a.op](v, a.threshold)
    if not a.ok then failed[#failed + 1] = a end
  end
  return failed
end

local function print_table(result, asserts)
  print(fmt("model %s (%s, %s v%s) on %s: %d rows", result.model, result.bundle.kind, result.bundle.name,
    tostring(result.bundle.version), result.data, result.n))
  local width = 6
  for _, name in ipairs(result.order) do width = math.max(width, #name) end
  print(fmt("  %-" .. width .. "s  %10s  %s", "metric", "value", "check"))
  for _, name in ipairs(result.order) do
    local checks_for = {}
    for _, a in ipairs(asserts) do
      if a.metric == name then checks_for[#checks_for + 1] = fmt("%s%s %s", a.op, tostring(a.threshold), a.ok and "ok" or "FAILED") end
    end
    print(fmt("  %-" .. width .. "s  %10.4f  %s", name, result.metrics[name], table.concat(checks_for, ", ")))
  end
end

local function run(args)
  local ok, status = pcall(function()
    local o = parse(args)
    if o.help then print(USAGE) return 0 end
    if #o.pos ~= 2 then usage_error("expected MODEL and DATA, got %d argument%s", #o.pos, #o.pos == 1 and "" or "s") end
    resolve_asserts(o)
    local result = evaluate(o.pos[1], o.pos[2], o.metrics, o)
    for _, a in ipairs(o.asserts) do a.metric = a.metric or result.order[1] end
    local failed = check_asserts(result, o.asserts)
    if o.json then
      local out = { model = result.model, name = result.bundle.name, version = result.bundle.version, data = result.data,
        n = result.n, metrics = result.metrics, ok = #failed == 0, asserts = ml.json.array() }
      for i, a in ipairs(o.asserts) do
        out.asserts[i] = { metric = a.metric, op = a.op, threshold = a.threshold, value = a.value, ok = a.ok }
      end
      print(ml.json.encode(out))
    else
      print_table(result, o.asserts)
    end
    for _, a in ipairs(failed) do
      io.stderr:write(fmt("moonlab eval: FAILED %s = %.4f, required %s %s (short by %.4g)\n", a.metric, a.value, a.op,
        tostring(a.threshold), math.abs(a.threshold - a.value)))
    end
    return #failed == 0 and 0 or 1
  end)
  if ok then return status end
  if type(status) == "table" and getmetatable(status) == Usage then
    io.stderr:write("moonlab eval: ", status.msg, "\n")
    if status.msg:find("^expected MODEL") or status.msg:find("^unknown option") then io.stderr:write(USAGE, "\n") end
    return 2
  end
  error(status, 0)
end

return {
  summary = "a model's metrics on a data set; --assert makes it a CI gate (exit 1 when the model falls short)",
  usage = USAGE,
  run = run,
  evaluate = evaluate,
  load_data = load_data,
  usage_error = usage_error,
  is_usage_error = function(e) return type(e) == "table" and getmetatable(e) == Usage end,
}
