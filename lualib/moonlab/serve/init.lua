--- ml.serve: the HTTP model server (ml.serve{...}, `moonlab serve`), model bundles,
-- versions, monitoring. One file per concern; each part returns a table of public names.
local ml = require "moonlab"

local serve = {}

-- Each part adds its public names; a name defined twice is a mistake.
local parts = {
  "bundles",   -- serve.bundle: model bundles (save, load, rows, predict)
  "server",    -- ml.serve{...}: the model server (serve.start)
}

for _, part in ipairs(parts) do
  for k, v in pairs(require("moonlab.serve." .. part)) do
    if serve[k] ~= nil then error("moonlab.serve: " .. part .. " redefines serve." .. k) end
    serve[k] = v
  end
end

-- ml.serve{...} starts a server (serve/server.lua)
setmetatable(serve, { __call = function(_, opts) return serve.start(opts) end })

ml.doc(serve, "ml.serve — the HTTP model server: ml.serve{model = ...}, bundles, versions, drift monitoring")

return serve
