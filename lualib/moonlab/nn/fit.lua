--- nn's part for training: compile/fit/evaluate/predict on nn.Module. The
-- training loop lives in lualib/moonlab/train/ (see train/init.lua); this
-- file only attaches it when nn loads.
local Module = require("moonlab.nn.module").Module
require("moonlab.train").attach(Module)
return {}
