--- data/keys.lua: columns as keys for the C kernels (ml._frame): the key
-- specs of factorize and argsort, and the checks of the `by` / `subset`
-- arguments that name them. Shared by frame_ops, groupby and merge.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local F = ml._frame

local keys = {}

--- keys.spec(col, [sorted], [descending], [na_first]) -> the key spec of a column
-- Strings sort by their text (a rank of the pool), categories by their code
-- (the category order), the other kinds by value.
function keys.spec(col, sorted, descending, na_first)
  local k = col.kind
  local spec = { values = col.values, descending = descending, na_first = na_first }
  if k == "string" then
    spec.codes = true
    if sorted then spec.pool = col.pool end
  elseif k == "category" then spec.codes = true
  elseif k ~= "float64" then spec.valid = col.valid end
  return spec
end

--- keys.names(fn, df, names, what) -> a list of column names, each checked (nil: every column)
function keys.names(fn, df, names, what)
  if names == nil then return df.columns end
  if type(names) == "string" then names = { names } end
  if type(names) ~= "table" or #names == 0 then
    fail(fmt("%s: %s must be a column name or a non-empty list of names, got %s", fn, what, type(names)))
  end
  for _, name in ipairs(names) do
    if not df:has_column(name) then
      local hint = checks.suggest(tostring(name), df._names)
      fail(fmt("%s: %s names '%s', which is not a column%s; the columns are %s", fn, what, tostring(name),
        hint and (" (did you mean '" .. hint .. "'?)") or "", table.concat(df._names, ", ")))
    end
  end
  return names
end

local MAX_KEYS = 16 -- what one call of ml._frame takes

--- keys.at_most(specs, [sorted], [dropna]) -> specs: more than 16 keys folded, the leading ones into one key of their group ids
-- (sorted ids keep the lexicographic order; with dropna a dropped row stays missing)
function keys.at_most(specs, sorted, dropna)
  while #specs > MAX_KEYS do
    local ids = F.factorize(table.move(specs, 1, MAX_KEYS, 1, {}), { sort = sorted, dropna = dropna })
    local folded = { values = ids, valid = dropna and ids:ne(0) or nil }
    specs = { folded, table.unpack(specs, MAX_KEYS + 1) }
  end
  return specs
end

--- keys.factorize(df, names, opts) -> ids (int64, 1-based, 0 = dropped), G
function keys.factorize(df, names, opts)
  local specs = {}
  for i, name in ipairs(names) do specs[i] = keys.spec(df._cols[name], opts.sort) end
  return F.factorize(keys.at_most(specs, opts.sort, opts.dropna), opts)
end

return keys
