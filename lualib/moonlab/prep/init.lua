--- moonlab.prep (ml.prep): preparing data for a model, scikit-learn's
-- fit/transform contract. This index lists the parts of the package (a
-- missing one is an error); each adds its names:
local ml = require "moonlab"

local prep = {}

local parts = {
  "augment",
  "scale", "impute", "encode", "dates", "clean", "compose", "split",
  "resample", "weights", "knn_impute", "gan_oversample",
  "text",
}

for _, part in ipairs(parts) do
  for k, v in pairs(require("moonlab.prep." .. part)) do
    if prep[k] ~= nil then error("moonlab.prep: " .. part .. " redefines prep." .. k) end
    prep[k] = v
  end
end

ml.doc(prep, "ml.prep — preprocessing: scalers, imputers, encoders, text, dates, cleaning, augmentation, resampling, pipelines")

return prep
