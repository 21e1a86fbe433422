-- The MLflow export read back the way MLflow's FileStore reads a file store (mlflow/store/tracking/file_store.py,
-- mlflow/utils/validation.py, mlflow/entities): a reader written here from those rules, independent of
-- track/mlflow.lua, fails on anything FileStore would refuse or misread. Where /usr/bin/python3 has PyYAML,
-- scripts/mlflow_filestore_check.py reads the same folder with yaml.safe_load as a second opinion.
local track = ml.track
local lfs = require "lfs"

-- ---- a reader that follows FileStore's rules ---------------------------------------------------

-- The YAML MLflow's meta.yaml holds (yaml.safe_dump of a flat dict): "key: scalar" lines; a scalar is a
-- quoted string, an integer, null or []. Anything else is an error here, so a layout change shows.
local function read_yaml(path)
  local f = assert(io.open(path, "rb"), "no " .. path)
  local text = f:read("a")
  f:close()
  assert(utf8.len(text), path .. ": not UTF-8")
  local t = {}
  for line in text:gmatch("([^\n]*)\n") do
    local k, v = line:match("^([%a_][%w_]*): (.+)$")
    assert(k, path .. ": not a flat 'key: value' line: " .. line)
    assert(t[k] == nil, path .. ": " .. k .. " twice")
    if v:match("^'.*'$") then
      local inner = v:sub(2, -2)
      assert(not inner:gsub("''", ""):find("'", 1, true), path .. ": a lone quote inside " .. v)
      assert(not inner:find("%c"), path .. ": a control character in " .. k)
      t[k] = inner:gsub("''", "'")
    elseif v:match("^%-?%d+$") then t[k] = math.tointeger(tonumber(v))
    elseif v == "null" then t[k] = ml.json.null
    elseif v == "[]" then t[k] = {}
    elseif v:match("^[%a_/]") and not v:find(": ", 1, true) and not v:find(" #", 1, true)
        and not ({ yes = 1, no = 1, on = 1, off = 1, ["true"] = 1, ["false"] = 1, null = 1 })[v:lower()] then
      t[k] = v -- a plain scalar PyYAML reads as a string (MLflow's own files: name: Default)
    else error(path .. ": " .. k .. ": a value this reader does not know: " .. v) end
  end
  return t
end

-- mlflow/utils/validation.py: _RUN_ID_REGEX, _EXPERIMENT_ID_REGEX, and the metric/param/tag name rule
-- (^[/\w.\- ]*$, and posixpath.normpath(name) == name, not '.', not starting with '..' or '/'); ASCII here.
local function valid_id(s, max) return type(s) == "string" and s:match("^[%w][%w_%-]*$") ~= nil and #s <= max + 1 end
local function valid_name(name)
  if name == "" or name:find("[^%w_%.%- /]") or name:sub(1, 1) == "/" or name:sub(-1) == "/" or name:find("//", 1, true) then
    return false
  end
  for seg in name:gmatch("[^/]+") do if seg == "." or seg == ".." then return false end end
  return #name <= 250
end

local function subdirs(dir)
  local out = {}
  for e in lfs.dir(dir) do
    if e ~= "." and e ~= ".." and lfs.attributes(dir .. "/" .. e, "mode") == "directory" then out[#out + 1] = e end
  end
  table.sort(out)
  return out
end

-- FileStore._get_resource_files: every file under the folder (os.walk), named by its path relative to it.
local function resource_files(dir)
  local out = {}
  local function walk(d, prefix)
    if lfs.attributes(d, "mode") ~= "directory" then return end
    for e in lfs.dir(d) do
      if e ~= "." and e ~= ".." then
        local mode = lfs.attributes(d .. "/" .. e, "mode")
        if mode == "directory" then walk(d .. "/" .. e, prefix .. e .. "/")
        else out[#out + 1] = prefix .. e end
      end
    end
  end
  walk(dir, "")
  table.sort(out)
  return out
end

local function uri_path(uri)
  local p = assert(uri:match("^file://(/.*)$"), "not a local file URI: " .. uri)
  return (p:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local STATUS_NAMES = { "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED" }

-- Reads DIR as FileStore.search_experiments + _list_run_infos + _get_run_from_info do; raises on what they refuse.
-- Returns {experiments = {id = {name, runs = {run_id = {info, metrics = {key = {{ts, value, step}...}}, params, tags}}}}}.
local function read_store(root)
  assert(lfs.attributes(root .. "/.trash", "mode") == "directory", "FileStore keeps deleted experiments in .trash")
  local out = { experiments = {}, names = {} }
  for _, exp_id in ipairs(subdirs(root)) do
    if exp_id ~= ".trash" and exp_id ~= "models" then -- _get_active_experiments
      assert(valid_id(exp_id, 63), "bad experiment id " .. exp_id)
      local edir = root .. "/" .. exp_id
      local em = read_yaml(edir .. "/meta.yaml")
      -- _read_persisted_experiment_dict + Experiment(...); the id must match the folder or the experiment is ignored
      for _, k in ipairs({ "experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time" }) do
        assert(em[k] ~= nil, edir .. "/meta.yaml lacks " .. k)
      end
      assert(em.experiment_id == exp_id, "experiment_id " .. tostring(em.experiment_id) .. " is not the folder " .. exp_id)
      assert(em.lifecycle_stage == "active", "lifecycle_stage " .. tostring(em.lifecycle_stage))
      assert(type(em.name) == "string" and em.name ~= "" and utf8.len(em.name) <= 500, "experiment name")
      assert(uri_path(em.artifact_location) == edir, em.artifact_location .. " is not " .. edir)
      assert(math.type(em.creation_time) == "integer" and math.type(em.last_update_time) == "integer", "times in ms")
      assert(out.names[em.name] == nil, "two experiments named " .. em.name)
      out.names[em.name] = exp_id
      local exp = { name = em.name, runs = {} }
      out.experiments[exp_id] = exp
      for _, run_id in ipairs(subdirs(edir)) do
        if run_id ~= "tags" and run_id ~= "datasets" and run_id ~= "traces" and run_id ~= "models" then -- RESERVED_EXPERIMENT_FOLDERS
          assert(valid_id(run_id, 255), "bad run id " .. run_id)
          local rdir = edir .. "/" .. run_id
          local m = read_yaml(rdir .. "/meta.yaml")
          -- RunInfo(...) needs these; _get_run_info checks the experiment, _find_run_root the folder name
          for _, k in ipairs({ "run_uuid", "run_id", "experiment_id", "user_id", "status", "start_time", "lifecycle_stage", "artifact_uri" }) do
            assert(m[k] ~= nil and m[k] ~= ml.json.null, rdir .. "/meta.yaml lacks " .. k)
          end
          assert(m.run_id == run_id and m.run_uuid == run_id, "run_id/run_uuid " .. tostring(m.run_id) .. " is not the folder " .. run_id)
          assert(m.experiment_id == exp_id, "run's experiment_id " .. tostring(m.experiment_id) .. " in experiment " .. exp_id)
          assert(STATUS_NAMES[m.status], "status must be RunStatus's integer 1..5, got " .. tostring(m.status))
          assert(math.type(m.start_time) == "integer", "start_time in ms")
          assert(m.end_time == ml.json.null or math.type(m.end_time) == "integer", "end_time null or ms")
          assert(m.lifecycle_stage == "active", "run lifecycle_stage")
          assert(m.source_type == 4 and type(m.tags) == "table" and m.deleted_time == ml.json.null, "FileStore's persisted extras")
          -- FileStore._get_artifact_dir: the experiment's artifact_location + run id + artifacts
          assert(m.artifact_uri == em.artifact_location .. "/" .. run_id .. "/artifacts", "artifact_uri " .. m.artifact_uri)
          assert(lfs.attributes(uri_path(m.artifact_uri), "mode") == "directory", "the artifacts folder")
          local run = { info = m, status = STATUS_NAMES[m.status], metrics = {}, params = {}, tags = {} }
          for _, key in ipairs(resource_files(rdir .. "/metrics")) do
            assert(valid_name(key), "metric name MLflow refuses: " .. key)
            local pts = {}
            for line in io.lines(rdir .. "/metrics/" .. key) do
              local parts = {}
              for w in line:gsub("^%s+", ""):gsub("%s+$", ""):gmatch("[^ ]+") do parts[#parts + 1] = w end
              assert(#parts == 2 or #parts == 3, key .. ": a line of " .. #parts .. " fields: " .. line)
              local ts, step = math.tointeger(tonumber(parts[1])), math.tointeger(tonumber(parts[3] or "0"))
              assert(ts and ts >= 0 and parts[1]:match("^%d+$"), key .. ": timestamp must be int: " .. line)
              assert(step and parts[3]:match("^%-?%d+$"), key .. ": step must be int: " .. line)
              local v = ({ nan = 0 / 0, inf = math.huge, ["-inf"] = -math.huge })[parts[2]] or tonumber(parts[2])
              assert(v, key .. ": value must be a float: " .. line)
              pts[#pts + 1] = { ts, v, step }
            end
            assert(#pts > 0, key .. ": no data (FileStore raises)")
            run.metrics[key] = pts
          end
          for what, limit in pairs({ params = 6000, tags = 5000 }) do
            for _, key in ipairs(resource_files(rdir .. "/" .. what)) do
              assert(valid_name(key), what .. " name MLflow refuses: " .. key)
              local v = T.read_file(rdir .. "/" .. what .. "/" .. key)
              assert(utf8.len(v) and utf8.len(v) <= limit, what .. " " .. key .. ": not UTF-8 or over " .. limit)
              run[what][key] = v
            end
          end
          exp.runs[run_id] = run
        end
      end
    end
  end
  return out
end

-- ---- the records exported -------------------------------------------------------------------------

local function make_runs(root)
  local r = {}
  -- names MLflow refuses, a value over its limits, values Python must parse
  local a = track.start { experiment = "naming", name = "it's \"odd\"\nname", dir = root, source = false,
    params = { ["lr@peak"] = 0.1, ["a:b"] = 1, long = string.rep("x", 7000), nested = { depth = 2 } },
    tags = { note = string.rep("é", 6000), ["bad key!"] = "v" } }
  a:log({ ["val/loss"] = 0.5, ["val/acc"] = 0.8, loss = 1.5, ["top-1 (%)"] = 70, weird = 0 / 0, big = math.huge, ["./x"] = 1,
    ["a//b/"] = 2, [string.rep("k", 300)] = 3, acc = 0.1, ["acc/top5"] = 0.2, ["x?"] = 4, ["x!"] = 5 }, 1)
  a:log({ ["val/loss"] = 0.25, loss = 1.0, weird = -math.huge }, 2)
  T.write_file(a:artifact_path("sub dir/model #1.txt"), "w")
  a:finish()
  r.a = a
  -- the default experiment, and a search: a parent with two child runs
  local d = track.start { dir = root, source = false, params = { x = 1 } }
  d:log({ loss = 3 }, 0)
  d:finish("failed", "boom")
  r.d = d
  local outer = track.start { experiment = "tune", name = "outer", dir = root, source = false }
  ml.search.run(function(p) return p.x end, { x = { 1, 2 } }, { method = "grid", verbose = false })
  outer:finish()
  r.outer = outer
  -- a run left "running" by a process that is gone reads (and exports) as killed
  local k = track.start { experiment = "tune", name = "killed", dir = root, source = false }
  k:log({ loss = 9 }, 1)
  k:finish() -- closed here (an open run would take the next test's fits), then made to look left by a dead process
  local meta = ml.json.decode(T.read_file(k.dir .. "/meta.json"))
  meta.status, meta.end_time, meta.pid = "running", ml.json.null, 1 << 30
  T.write_file(k.dir .. "/meta.json", ml.json.encode(meta))
  r.k = k
  return r
end

T.test("MLflow export reads back by FileStore's rules: ids, meta.yaml, status enum, names, values, Default, .trash", function()
  local root = T.tmpdir() .. "/runs"
  local r = make_runs(root)
  local dir = T.tmpdir() .. "/ml runs" -- a space: artifact URIs are percent-encoded
  local res = track.export_mlflow(dir, { root = root })
  T.eq(res.runs, 7); T.eq(res.experiments, 3)
  local s = read_store(dir)
  T.eq(s.names.Default, "0") -- moonlab's "default" experiment is MLflow's experiment 0
  T.ok(s.names.naming and s.names.tune, "the experiments by name")
  -- the oddly named run
  local uuid = track.mlflow_run_uuid(r.a.id)
  local run = s.experiments[s.names.naming].runs[uuid]
  T.ok(run, "the run folder is its run_id")
  T.eq(run.status, "FINISHED"); T.eq(run.info.run_name, "it's \"odd\" name")
  T.eq(run.info.start_time, math.floor(r.a.meta.start_time * 1000 + 0.5))
  T.eq(#run.metrics["val/loss"], 2); T.eq(run.metrics["val/loss"][2][2], 0.25); T.eq(run.metrics["val/loss"][2][3], 2)
  T.ok(run.metrics.weird[1][2] ~= run.metrics.weird[1][2] and run.metrics.weird[2][2] == -math.huge, "nan and -inf as Python writes them")
  T.eq(run.metrics.big[1][2], math.huge)
  T.ok(run.metrics["lr@peak"] == nil and run.params["lr_peak"] == "0.1" and run.params["a_b"] == "1", "params renamed")
  T.ok(run.metrics["top-1 ___"], "parentheses and %% are not MLflow name characters")
  T.ok(run.metrics["_/x"] and run.metrics["a/b"], "'.' segments and doubled or trailing '/' mended")
  T.ok(run.metrics[string.rep("k", 250)], "a name cut to 250 characters")
  -- a name both a file and a folder ("acc" and "acc/top5"), and two names made the same ("x!" and "x?")
  T.eq(run.metrics.acc[1][2], 0.1); T.eq(run.metrics.acc_top5[1][2], 0.2)
  T.eq(run.metrics.x_[1][2], 5); T.eq(run.metrics.x__2[1][2], 4)
  T.eq(#run.params.long, 6000); T.eq(utf8.len(run.tags.note), 5000)
  T.eq(run.params.nested, '{"depth":2}')
  T.eq(run.tags["bad key_"], "v"); T.eq(run.tags["mlflow.runName"], "it's \"odd\"\nname")
  T.eq(run.tags["moonlab.run_id"], r.a.id); T.eq(run.tags["mlflow.source.type"], "LOCAL")
  T.eq(T.read_file(uri_path(run.info.artifact_uri) .. "/sub dir/model #1.txt"), "w")
  -- each change is reported
  local renamed = table.concat(res.renamed, "\n")
  T.ok(renamed:find("param lr@peak -> lr_peak", 1, true) and renamed:find("tag bad key! -> bad key_", 1, true), renamed)
  T.ok(table.concat(res.cut, " "):find("param long", 1, true) and table.concat(res.cut, " "):find("tag note", 1, true))
  -- the default experiment's failed run, the killed run, a search's children under their parent
  local drun = s.experiments["0"].runs[track.mlflow_run_uuid(r.d.id)]
  T.eq(drun.status, "FAILED"); T.eq(drun.tags["moonlab.error"], "boom")
  local tune = s.experiments[s.names.tune].runs
  T.eq(tune[track.mlflow_run_uuid(r.k.id)].status, "KILLED")
  T.eq(tune[track.mlflow_run_uuid(r.k.id)].info.end_time, ml.json.null)
  local children, parent_uuid = 0, nil
  for _, m in ipairs(track.list(root, "tune")) do if m.kind == "search" then parent_uuid = track.mlflow_run_uuid(m.id) end end
  for _, x in pairs(tune) do if x.tags["mlflow.parentRunId"] == parent_uuid then children = children + 1 end end
  T.eq(children, 2)
  T.eq(tune[parent_uuid].tags["mlflow.parentRunId"], track.mlflow_run_uuid(r.outer.id))
  -- exported again: the same places, no new experiment
  local again = track.export_mlflow(dir, { root = root })
  T.eq(again.experiments, 3)
  local s2 = read_store(dir)
  local n = 0
  for _ in pairs(s2.experiments) do n = n + 1 end
  T.eq(n, 3)
  -- a second opinion: PyYAML and FileStore's read path in Python, where they are installed
  local py = io.open("/usr/bin/python3") and os.execute("/usr/bin/python3 -c 'import yaml' 2>/dev/null")
  if py then
    local out, err, code = T.capture("/usr/bin/python3 scripts/mlflow_filestore_check.py " .. T.quote(dir))
    T.eq(code, 0, out .. err)
    T.ok(out:find("3 experiments, 7 runs", 1, true), out)
  else
    print("  skip: the Python check needs /usr/bin/python3 with PyYAML")
  end
end)

T.test("MLflow export into a store MLflow made: its experiments keep their ids and meta.yaml", function()
  local root = T.tmpdir() .. "/runs"
  local run = track.start { experiment = "shared", dir = root, source = false }
  run:log({ loss = 1 }, 1)
  run:finish()
  local dir = T.tmpdir() .. "/mlruns"
  -- as PyYAML writes them: plain scalars, MLflow's own random ids
  lfs.mkdir(dir); lfs.mkdir(dir .. "/0"); lfs.mkdir(dir .. "/.trash"); lfs.mkdir(dir .. "/.trash/900")
  local meta0 = "artifact_location: file://" .. dir .. "/0\ncreation_time: 1700000000000\nexperiment_id: '0'\n"
    .. "last_update_time: 1700000000000\nlifecycle_stage: active\nname: Default\n"
  T.write_file(dir .. "/0/meta.yaml", meta0)
  lfs.mkdir(dir .. "/812345678901234567")
  T.write_file(dir .. "/812345678901234567/meta.yaml", "artifact_location: file://" .. dir .. "/812345678901234567\n"
    .. "creation_time: 1700000000000\nexperiment_id: '812345678901234567'\nlast_update_time: 1700000000000\n"
    .. "lifecycle_stage: active\nname: shared\n")
  local res = track.export_mlflow(dir, { root = root })
  T.eq(res.runs, 1)
  T.eq(T.read_file(dir .. "/0/meta.yaml"), meta0) -- left as MLflow wrote it
  local s = read_store(dir)
  T.eq(s.names.shared, "812345678901234567")
  T.ok(s.experiments["812345678901234567"].runs[track.mlflow_run_uuid(run.id)], "the run in MLflow's experiment")
  -- a new experiment takes an id no experiment (active or deleted) has
  local other = track.start { experiment = "fresh", dir = root, source = false }
  other:finish()
  track.export_mlflow(dir, { root = root })
  local s2 = read_store(dir)
  T.eq(s2.names.fresh, "812345678901234568")
  T.raises(function() track.export_mlflow("", {}) end, "expected an output directory")
  T.raises(function() track.export_mlflow(dir, { root = root, experiment = "nope" }) end, "no runs in experiment 'nope'")
end)
