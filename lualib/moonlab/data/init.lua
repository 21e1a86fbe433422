--- moonlab.data (ml.data): datasets and batches. This index lists the parts
-- of the package (a missing one is an error); each adds its names:
--   datasets.lua  read_idx, fashion_mnist, TensorDataset, Subset
--   splits.lua    random_split, split_indices
--   loader.lua    data.loader (data.Loader)
--
--   local train, test = data.fashion_mnist()            -- {x = float32 [N,28,28] in [0,1], y = int64 [N] in 1..10}
--   for x, y in data.loader({train.x, train.y}, {batch_size = 128, shuffle = true}) do ... end
--   local dl = data.loader(train, {batch_size = 128, shuffle = true, seed = 1})
--   for epoch = 1, 10 do for x, y in dl:iter() do ... end end
--
-- Tensors are batched in C (runtime/data/loader.c): the rows of the next
-- batches are gathered in a background thread while the current batch
-- trains. Dataset objects (anything with `get(i)` and a length) are batched
-- in Lua, sequentially, by stacking their samples.
--
-- Shuffling is reproducible: with `seed`, epoch k's order depends only on
-- (seed, k); without one, each epoch draws ml.randperm from the global
-- generator, so the same ml.seed gives the same orders.
local ml = require "moonlab"

local data = {}

for _, part in ipairs({ "datasets", "splits", "loader" }) do
  for k, v in pairs(require("moonlab.data." .. part)) do
    if data[k] ~= nil then error("moonlab.data: " .. part .. " redefines data." .. k) end
    data[k] = v
  end
end

-- The data frame and its columns (their operations add methods from their own files).
data.Column = require "moonlab.data.column"
data.DataFrame = require "moonlab.data.frame"
data.concat = data.DataFrame.concat -- pandas' pd.concat (data/frame_ops.lua)

ml.doc(data, "ml.data — datasets and batches: data.loader (batched in C, a background thread), TensorDataset, Subset, random_split, split_indices, read_idx, fashion_mnist")

return data
