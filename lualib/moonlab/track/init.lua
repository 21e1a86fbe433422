--- ml.track: run records (params, metrics, status, artifacts), TensorBoard event files,
-- MLflow export. One file per concern; each part returns a table of public names.
local ml = require "moonlab"

local track = {}

-- Each part adds its public names; a name defined twice is a mistake.
local parts = {
  "run", -- track.start, track.active, track.note_data, track.Run
  "store", -- track.read, track.list, track.find
  "mlflow", -- track.export_mlflow
}

for _, part in ipairs(parts) do
  for k, v in pairs(require("moonlab.track." .. part)) do
    if track[k] ~= nil then error("moonlab.track: " .. part .. " redefines track." .. k) end
    track[k] = v
  end
end

ml.doc(track, "ml.track — run records (track.start, run:log, run:finish), TensorBoard files, MLflow export")

return track
