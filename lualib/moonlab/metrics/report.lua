--- metrics.classification_report: precision, recall, F1 and support per class and averaged, as the
-- table scikit-learn prints, or (output_dict = true) as a Lua table.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"
local inputs = require "moonlab.metrics.inputs"

local fail, fmt = checks.fail, string.format
local M = { metrics = {} }

-- Whether labels were given as integers: an integer tensor, an int64 data column, or a Lua list of integers
-- (which labels.read turns into float64, so the classes come back as 1.0, 2.0 ...)
local function integer_labels(y)
  if ml.is_tensor(y) then return y:dtype() ~= "float32" and y:dtype() ~= "float64" end
  if type(y) ~= "table" then return false end
  if getmetatable(y) == nil then
    for i = 1, #y do if math.type(y[i]) ~= "integer" then return false end end
    return #y > 0
  end
  return y.kind == "int64" or y.kind == "bool"
end

-- Python's str of a label value ("1", "1.0", "cat"); as_integer: whole floats as integers (the user gave integers)
local function label_name(v, as_integer)
  if as_integer and math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
    return fmt("%d", math.tointeger(v))
  end
  if type(v) == "number" and math.type(v) == "float" then
    if v == math.floor(v) and math.abs(v) < 1e16 then return fmt("%.1f", v) end
    return fmt("%.17g", v)
  end
  return tostring(v)
end

-- Python's shortest repr of a float (support with sample weights)
local function float_repr(x)
  for digits = 15, 17 do
    local s = fmt("%." .. digits .. "g", x)
    if tonumber(s) == x then
      if not s:find("[%.eni]") then s = s .. ".0" end
      return s
    end
  end
  return fmt("%.17g", x)
end

local function support_text(v, weighted)
  if not weighted then return fmt("%d", math.tointeger(v) or math.floor(v + 0.5)) end
  return float_repr(v)
end

local HEADERS = { "precision", "recall", "f1-score", "support" }

--- metrics.classification_report(y_true, y_pred, [{labels, target_names, sample_weight, digits=2, output_dict=false, zero_division='warn'}]) -> string | table
function M.metrics.classification_report(y_true, y_pred, opts)
  local fn = "metrics.classification_report"
  opts = checks.options(fn, opts, { "labels", "target_names", "sample_weight", "digits", "output_dict", "zero_division" })
  local digits = checks.integer(fn, "digits", opts.digits == nil and 2 or opts.digits, 0, 17)
  local output_dict = checks.boolean(fn, "output_dict", opts.output_dict, false)
  local prfs = M.prfs or require("moonlab.metrics").precision_recall_fscore_support
  local _, _, present = labels.encode_pair(fn, y_true, y_pred)
  inputs.refuse_continuous(fn, present)
  local chosen = inputs.option_labels(fn, opts.labels)
  local micro_is_accuracy = true
  if chosen then
    local a, b = {}, {}
    for _, c in ipairs(chosen) do a[c] = true end
    for _, c in ipairs(present) do b[c] = true end
    for c in pairs(a) do if not b[c] then micro_is_accuracy = false end end
    for c in pairs(b) do if not a[c] then micro_is_accuracy = false end end
  end
  chosen = chosen or present
  local names = {}
  if opts.target_names ~= nil then
    if type(opts.target_names) ~= "table" then fail(fn .. ": target_names must be a list of strings") end
    if #opts.target_names ~= #chosen then
      fail(fmt("%s: target_names has %d names but there are %d labels", fn, #opts.target_names, #chosen))
    end
    for i, s in ipairs(opts.target_names) do names[i] = tostring(s) end
  else
    local as_integer = integer_labels(y_true) and integer_labels(y_pred)
    for i, c in ipairs(chosen) do names[i] = label_name(c, as_integer) end
  end
  local common = { labels = chosen, sample_weight = opts.sample_weight, zero_division = opts.zero_division }
  local function run(average)
    local o = { average = average }
    for k, v in pairs(common) do o[k] = v end
    return prfs(y_true, y_pred, o)
  end
  local p, r, f, s = run("none")
  p, r, f, s = p:tolist(), r:tolist(), f:tolist(), s:tolist()
  local total = 0
  for _, v in ipairs(s) do total = total + v end
  local weighted = opts.sample_weight ~= nil
  local averages = {}
  for _, average in ipairs({ "micro", "macro", "weighted" }) do
    local ap, ar, af = run(average)
    averages[#averages + 1] = { heading = (average == "micro" and micro_is_accuracy) and "accuracy" or (average .. " avg"),
      p = ap, r = ar, f = af }
  end
  if output_dict then
    local out = {}
    for i, name in ipairs(names) do
      out[name] = { precision = p[i], recall = r[i], ["f1-score"] = f[i], support = s[i] }
    end
    for _, a in ipairs(averages) do
      if a.heading == "accuracy" then out.accuracy = a.p
      else out[a.heading] = { precision = a.p, recall = a.r, ["f1-score"] = a.f, support = total } end
    end
    return out
  end
  local width = #"weighted avg"
  for _, name in ipairs(names) do width = math.max(width, #name) end
  width = math.max(width, digits)
  local lines = { fmt("%" .. width .. "s ", "") }
  for _, h in ipairs(HEADERS) do lines[1] = lines[1] .. fmt(" %9s", h) end
  local num = " %9." .. digits .. "f"
  local row = "%" .. width .. "s " .. num .. num .. num .. " %9s"
  local out = { lines[1], "" }
  for i, name in ipairs(names) do out[#out + 1] = fmt(row, name, p[i], r[i], f[i], support_text(s[i], weighted)) end
  out[#out + 1] = ""
  for _, a in ipairs(averages) do
    if a.heading == "accuracy" then
      out[#out + 1] = fmt("%" .. width .. "s  %9s %9s" .. num .. " %9s", "accuracy", "", "", a.f, support_text(total, weighted))
    else
      out[#out + 1] = fmt(row, a.heading, a.p, a.r, a.f, support_text(total, weighted))
    end
  end
  return table.concat(out, "\n") .. "\n"
end

ml.doc(M.metrics.classification_report, "metrics.classification_report(y_true, y_pred, [{labels, target_names, sample_weight, digits=2, output_dict=false, zero_division='warn'}]) -> string | table — precision, recall, F1 and support per class and averaged: the table scikit-learn prints, or with output_dict {[class] = {precision, recall, f1-score, support}, accuracy, 'macro avg', 'weighted avg'}")

return M
