--- data/merge.lua: df:merge(other, opts), a database-style join on key
-- columns, with pandas' semantics and row order:
--   how = "inner" | "left" | "right" | "outer"; missing keys match each other (as pandas);
--   left keeps the left rows in order (each with its right matches in their order),
--   right the same from the right; inner and outer go key by key in order of
--   first appearance (left, then right), outer adding the unmatched rows there.
-- The keys of both sides are factorized together in C and joined by a hash
-- join (ml._frame.join); the columns are then gathered by the row pairs.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Column = require "moonlab.data.column"
local DataFrame = require "moonlab.data.frame"
local keys = require "moonlab.data.keys"

local fail, fmt = checks.fail, string.format
local F = ml._frame
local is_text = Column.is_text

-- col's rows at index (1-based; 0 = no row, a missing cell).
local function take_or_missing(col, index, none)
  local n = index:numel()
  if col:len() == 0 then
    local kind = col.kind
    if kind == "float64" then return Column.new(kind, ml.full({ n }, 0 / 0, { dtype = "float64" })) end
    if is_text(kind) then return Column.new(kind, ml.zeros(n, { dtype = "int64" }), nil, col.pool) end
    return Column.new(kind, ml.zeros(n, { dtype = Column.KINDS[kind] }), ml.zeros(n, { dtype = "bool" }))
  end
  if not none then return col:take(index) end
  local t = col:take(ml.where(none, 1, index))
  if t.kind == "float64" then return Column.new("float64", t.values:masked_fill(none, 0 / 0)) end
  if is_text(t.kind) then return Column.new(t.kind, t.values:masked_fill(none, 0), nil, t.pool) end
  local valid = t.valid and ml.where(none, false, t.valid) or none:logical_not()
  return Column.new(t.kind, t.values:masked_fill(none, 0), valid)
end

local function key_lists(fn, self, other, opts)
  if opts.on ~= nil then
    if opts.left_on ~= nil or opts.right_on ~= nil then fail(fn .. ": give on, or left_on and right_on, not both") end
    local on = keys.names(fn, self, opts.on, "on")
    keys.names(fn, other, on, "on (in the right frame)")
    return on, on, true
  end
  if opts.left_on ~= nil or opts.right_on ~= nil then
    if opts.left_on == nil or opts.right_on == nil then fail(fn .. ": left_on and right_on go together") end
    local l = keys.names(fn, self, opts.left_on, "left_on")
    local r = keys.names(fn, other, opts.right_on, "right_on")
    if #l ~= #r then fail(fmt("%s: left_on has %d keys, right_on %d", fn, #l, #r)) end
    return l, r, false
  end
  local common = {}
  for _, name in ipairs(self._names) do if other:has_column(name) then common[#common + 1] = name end end
  if #common == 0 then fail(fn .. ": the frames have no column in common; give on, or left_on and right_on") end
  return common, common, true
end

--- df:merge(other, [{on | left_on, right_on, how = "inner", suffixes = {"_x", "_y"}}]) -> the joined frame (pandas' row order)
function DataFrame:merge(other, opts)
  local fn = "df:merge"
  if not DataFrame.is(other) then fail(fn .. ": argument #1: expected a data frame, got " .. type(other)) end
  opts = checks.options(fn, opts, { "on", "left_on", "right_on", "how", "suffixes" })
  local how = checks.one_of(fn, "how", opts.how, { "inner", "left", "right", "outer" }, "inner")
  local suffixes = opts.suffixes or { "_x", "_y" }
  if type(suffixes) ~= "table" or type(suffixes[1]) ~= "string" or type(suffixes[2]) ~= "string" then
    fail(fn .. ": suffixes must be a pair of strings, like {\"_x\", \"_y\"}")
  end
  local lkeys, rkeys, shared = key_lists(fn, self, other, opts)
  local nl, nr = self._n, other._n
  -- both sides' keys as one column each (pools merged, kinds made common), factorized together
  local comb, specs = {}, {}
  for i = 1, #lkeys do
    local a = DataFrame.from_columns({ "k" }, { k = self._cols[lkeys[i]] })
    local b = DataFrame.from_columns({ "k" }, { k = other._cols[rkeys[i]] })
    local ok, both = pcall(DataFrame.concat, { a, b })
    if not ok then fail(fmt("%s: key '%s' (%s) and '%s' (%s) do not join", fn, lkeys[i], self._cols[lkeys[i]].kind,
      rkeys[i], other._cols[rkeys[i]].kind)) end
    comb[i] = both._cols.k
    specs[i] = keys.spec(comb[i])
  end
  local lidx, ridx
  if nl + nr == 0 then
    lidx, ridx = ml.zeros(0, { dtype = "int64" }), ml.zeros(0, { dtype = "int64" })
  else
    local ids, G = F.factorize(keys.at_most(specs, false, false), { sort = false, dropna = false })
    lidx, ridx = F.join(ids:narrow(1, 1, nl), ids:narrow(1, nl + 1, nr), G, how)
  end
  local lnone = (how == "right" or how == "outer") and lidx:eq(0) or nil
  local rnone = (how == "left" or how == "outer") and ridx:eq(0) or nil
  local names, cols = {}, {}
  local lkey, rkey = {}, {}
  for i, k in ipairs(lkeys) do lkey[k] = i end
  for i, k in ipairs(rkeys) do rkey[k] = i end
  local function add(name, col)
    names[#names + 1], cols[name] = name, col
  end
  local function clash(name, side)
    if side == 1 then return other:has_column(name) and not (shared and rkey[name]) end
    return self:has_column(name) and not (shared and lkey[name])
  end
  for _, name in ipairs(self._names) do
    local col
    if shared and lkey[name] then
      -- the key: from the left row, or from the right one where there is no left row
      local src = lnone and ml.where(lnone, ridx:add(nl), lidx) or lidx
      col = comb[lkey[name]]:take(src)
    else col = take_or_missing(self._cols[name], lidx, lnone) end
    add(clash(name, 1) and (name .. suffixes[1]) or name, col)
  end
  for _, name in ipairs(other._names) do
    if not (shared and rkey[name]) then
      local out = clash(name, 2) and (name .. suffixes[2]) or name
      if cols[out] then fail(fmt("%s: the result would have two columns named '%s'; give other suffixes", fn, out)) end
      add(out, take_or_missing(other._cols[name], ridx, rnone))
    end
  end
  return DataFrame.from_columns(names, cols)
end


-- Docstrings for ml.help (the --- lines above each function).
ml.doc(DataFrame.merge, "df:merge(other, [{on | left_on, right_on, how = \"inner\", suffixes = {\"_x\", \"_y\"}}]) — the joined frame (pandas' row order)")

return DataFrame
