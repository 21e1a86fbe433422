--- data/groupby.lua: df:groupby(keys) and its aggregations (data.GroupBy).
--
--   df:groupby("city"):agg{price = "mean", qty = {"sum", "max"}}
--     --> a frame: city, price, qty_sum, qty_max (one row per city, sorted by city)
--   df:groupby({"city", "year"}):size()   --> city, year, size
--   df:groupby("city"):mean()             --> every other numeric column's mean
--
-- The keys are factorized once in C (ml._frame.factorize: sorted group ids,
-- missing keys dropped as pandas' dropna=True); each aggregation is then one
-- C pass over the rows, float64 columns of the same function in one call
-- that runs them on the threads of ml.threads. Aggregations: sum, mean,
-- count, min, max, std (ddof 1), first, last (skipping missing cells, as
-- pandas), nunique, size.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local Column = require "moonlab.data.column"
local DataFrame = require "moonlab.data.frame"
local keys = require "moonlab.data.keys"

local fail, fmt = checks.fail, string.format
local F = ml._frame
local is_text = Column.is_text

local GroupBy = class.Object:extend("data.GroupBy",
  "data.GroupBy — df:groupby(keys, [{sort = true, dropna = true}]): :agg{col = \"mean\" | {\"sum\", \"max\"}}, :size(), :sum(), :mean() ...")

local AGGS = { "sum", "mean", "count", "min", "max", "std", "first", "last", "nunique" }
local IS_AGG = {}
for _, a in ipairs(AGGS) do IS_AGG[a] = true end

--- df:groupby(keys, [{sort = true, dropna = true}]) -> data.GroupBy over those key columns
function DataFrame:groupby(by, opts)
  local fn = "df:groupby"
  opts = checks.options(fn, opts, { "sort", "dropna" })
  local names = keys.names(fn, self, by, "the keys")
  local sort = checks.boolean(fn, "sort", opts.sort, true)
  local dropna = checks.boolean(fn, "dropna", opts.dropna, true)
  local ids, G = keys.factorize(self, names, { sort = sort, dropna = dropna })
  return GroupBy:new(self, names, ids, G)
end

function GroupBy:init(df, names, ids, G)
  self.df, self.keys, self.ids, self.ngroups = df, names, ids, G
  local first = F.group_agg_int(ids, G, "first", ml.arange(1, df._n + 1, { dtype = "int64" }))
  self.first_rows = first -- the first row of each group, in group order
end

-- The key columns, one row per group.
function GroupBy:key_frame()
  return self.df:select(self.keys):take(self.first_rows)
end

-- The ids with the rows of missing cells dropped (0), for count and nunique.
local function present_ids(self, col)
  local miss = col:is_missing()
  return ml.where(miss, 0, self.ids)
end

-- int64 results as a column (missing where a group had no value).
local function int_column(kind, out, valid)
  local all = valid:to("int64"):sum():item() == valid:numel()
  return Column.new(kind, out, not all and valid or nil)
end

-- One aggregation of one non-float column.
local function agg_other(self, fn, name, col, op)
  local k, G = col.kind, self.ngroups
  if op == "count" then return Column.new("int64", F.group_counts(present_ids(self, col), G)) end
  if op == "nunique" then
    local pair_ids, P = F.factorize({ { values = self.ids }, keys.spec(col) }, { dropna = true })
    -- the ids of dropped rows are 0: as a key they would be a group of their own, so drop them again
    pair_ids = ml.where(self.ids:eq(0), 0, pair_ids)
    return Column.new("int64", F.group_nunique(self.ids, G, pair_ids, P))
  end
  if is_text(k) then
    if op ~= "first" and op ~= "last" then
      fail(fmt("%s: column '%s' holds strings; %s is not defined for it (count, nunique, first, last are)", fn, name, op))
    end
    local out, valid = F.group_agg_int(self.ids, G, op, col.values, col.values:ne(0))
    return Column.new(k, out:masked_fill(valid:logical_not(), 0), nil, col.pool)
  end
  local values = k == "bool" and col.values:to("int64") or col.values
  if op == "mean" or op == "std" then
    local x = values:to("float64")
    if col.valid then x = x:masked_fill(col.valid:logical_not(), 0 / 0) end
    return Column.new("float64", F.group_agg(self.ids, G, op, { x })[1])
  end
  if Column.is_time(k) and op == "sum" then fail(fmt("%s: column '%s' is a %s; sum is not defined for it", fn, name, k)) end
  local out, valid = F.group_agg_int(self.ids, G, op, values, col.valid)
  local kind = (op == "sum" or op == "count") and "int64" or k
  if kind == "bool" then out = out:bool() end
  return int_column(kind, out, valid)
end

-- The spec as a list of {column, op, result name}.
local function plan(self, fn, spec)
  local items = {}
  local key_set = {}
  for _, k in ipairs(self.keys) do key_set[k] = true end
  local function add(name, ops)
    if type(ops) == "string" then ops = { ops } ; ops.single = true end
    if type(ops) ~= "table" or #ops == 0 then fail(fmt("%s: the aggregation of '%s' must be a name or a list of names", fn, name)) end
    for _, op in ipairs(ops) do
      if not IS_AGG[op] then checks.unknown(fn, "aggregation", tostring(op), AGGS) end
      items[#items + 1] = { name = name, op = op, out = ops.single and name or (name .. "_" .. op) }
    end
  end
  if type(spec) == "string" or (type(spec) == "table" and #spec > 0) then
    -- one function (or list) for every column that is not a key
    local ops = spec
    for _, name in ipairs(self.df._names) do
      if not key_set[name] then
        local k = self.df._cols[name].kind
        local numeric = k == "float64" or k == "int64" or k == "bool"
        local op1 = type(ops) == "string" and ops or nil
        if numeric or op1 == "count" or op1 == "nunique" or op1 == "first" or op1 == "last" then add(name, ops) end
      end
    end
  elseif type(spec) == "table" then
    local names = {}
    for name in pairs(spec) do names[#names + 1] = name end
    local pos = {}
    for i, name in ipairs(self.df._names) do pos[name] = i end
    for _, name in ipairs(names) do keys.names(fn, self.df, { name }, "the aggregation") end
    table.sort(names, function(a, b) return pos[a] < pos[b] end) -- the frame's column order
    for _, name in ipairs(names) do add(name, spec[name]) end
  else fail(fmt("%s: expected {column = \"mean\" | {\"sum\", ...}} or an aggregation name, got %s", fn, type(spec))) end
  return items
end

--- gb:agg(spec) -> a frame: the keys, then one column per (column, aggregation): "col" for one, "col_op" for a list
function GroupBy:agg(spec)
  local fn = "gb:agg"
  local items = plan(self, fn, spec)
  local results = {}
  -- float64 columns of one aggregation go to C together (one thread per column)
  local batches = {}
  for i, it in ipairs(items) do
    local col = self.df._cols[it.name]
    if col.kind == "float64" and it.op ~= "nunique" then
      local b = batches[it.op] or { idx = {}, xs = {} }
      batches[it.op] = b
      b.idx[#b.idx + 1], b.xs[#b.xs + 1] = i, col.values
    else
      results[i] = agg_other(self, fn, it.name, col, it.op)
    end
  end
  for op, b in pairs(batches) do
    local outs = F.group_agg(self.ids, self.ngroups, op, b.xs)
    for j, i in ipairs(b.idx) do
      local out = outs[j]
      if op == "count" then out = out:to("int64") end
      results[i] = Column.new(op == "count" and "int64" or "float64", out)
    end
  end
  local frame = self:key_frame()
  local names, cols = frame.columns, {}
  for _, name in ipairs(names) do cols[name] = frame._cols[name] end
  for i, it in ipairs(items) do
    if cols[it.out] then fail(fmt("%s: the result would have two columns named '%s'", fn, it.out)) end
    names[#names + 1], cols[it.out] = it.out, results[i]
  end
  return DataFrame.from_columns(names, cols)
end

--- gb:size() -> a frame: the keys and "size", the rows of each group
function GroupBy:size()
  local frame = self:key_frame()
  return frame:with_column("size", Column.new("int64", F.group_counts(self.ids, self.ngroups)))
end

for _, op in ipairs(AGGS) do
  GroupBy[op] = ml.doc(function(self) return self:agg(op) end,
    "gb:" .. op .. "() — a frame: the keys and the " .. op .. " of every other column it applies to")
end

function GroupBy:__tostring()
  return fmt("data.GroupBy(%s: %d groups over %d rows)", table.concat(self.keys, ", "), self.ngroups, self.df._n)
end


-- Docstrings for ml.help (the --- lines above each function).
ml.doc(DataFrame.groupby, "df:groupby(keys, [{sort = true, dropna = true}]) — data.GroupBy over those key columns")
ml.doc(GroupBy.agg, "gb:agg(spec) — a frame: the keys, then one column per (column, aggregation): \"col\" for one, \"col_op\" for a list")
ml.doc(GroupBy.size, "gb:size() — a frame: the keys and \"size\", the rows of each group")

return GroupBy
