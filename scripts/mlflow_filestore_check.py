#!/usr/bin/python3
"""Reads an MLflow file store (what `moonlab runs export --mlflow DIR` writes) the way MLflow's
FileStore does (mlflow/store/tracking/file_store.py, mlflow/utils/validation.py), with only PyYAML:
yaml.safe_load of every meta.yaml, the id and status checks of _get_experiment / _get_run_info /
RunStatus.to_string, and the metric line parsing of _get_metric_from_line. MLflow itself is not
needed (it is not a Debian package); where it is installed, `mlflow.search_runs` reads the same folder
with MLFLOW_ALLOW_FILE_STORE=true (MLflow 3.13+).

    /usr/bin/python3 scripts/mlflow_filestore_check.py DIR

Prints "N experiments, M runs" and exits 0, or names the first problem and exits 1.
"""
import os
import posixpath
import re
import sys
from urllib.parse import unquote, urlparse

import yaml

RUN_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
EXPERIMENT_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,63}$")
NAME = re.compile(r"^[/\w.\- ]*$")  # the Windows rule, the strictest of MLflow's versions
STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
RESERVED_EXPERIMENT_FOLDERS = {"tags", "datasets", "traces", "models"}


class Bad(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Bad(msg)


def read_yaml(path):
    check(os.path.isfile(path), f"missing {path}")
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    check(isinstance(data, dict), f"{path}: not a mapping")
    return data


def valid_name(name):
    norm = posixpath.normpath(name)
    return (NAME.match(name) is not None and norm == name and norm != "." and not norm.startswith("..")
            and not norm.startswith("/") and len(name) <= 250)


def resource_files(folder):
    out = []
    for root, _, files in os.walk(folder):
        for name in files:
            out.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(out)


def local_path(uri):
    u = urlparse(uri)
    check(u.scheme == "file", f"not a file URI: {uri}")
    return unquote(u.path)


def read_run(edir, exp_id, exp_meta, run_id):
    rdir = os.path.join(edir, run_id)
    check(RUN_ID.match(run_id), f"bad run id {run_id}")
    m = read_yaml(os.path.join(rdir, "meta.yaml"))
    for k in ("run_uuid", "experiment_id", "user_id", "status", "start_time", "lifecycle_stage"):
        check(m.get(k) is not None, f"{rdir}/meta.yaml: {k} is missing or null")
    check(m.get("run_id", m["run_uuid"]) == run_id, f"{rdir}: run_id {m.get('run_id')} is not the folder name")
    experiment_id = str(m["experiment_id"]) if isinstance(m["experiment_id"], int) else m["experiment_id"]
    check(experiment_id == exp_id, f"{rdir}: experiment_id {experiment_id!r} is not {exp_id!r}")
    check(m["status"] in STATUS, f"{rdir}: status {m['status']!r} is not a RunStatus integer")
    check(isinstance(m["start_time"], int), f"{rdir}: start_time is not an int")
    check(m.get("end_time") is None or isinstance(m["end_time"], int), f"{rdir}: end_time")
    check(m["lifecycle_stage"] in ("active", "deleted"), f"{rdir}: lifecycle_stage")
    check(m.get("artifact_uri") == f"{exp_meta['artifact_location']}/{run_id}/artifacts", f"{rdir}: artifact_uri")
    check(os.path.isdir(local_path(m["artifact_uri"])), f"{rdir}: no artifacts folder")
    for key in resource_files(os.path.join(rdir, "metrics")):
        check(valid_name(key), f"{rdir}: metric name {key!r}")
        with open(os.path.join(rdir, "metrics", key), encoding="utf-8") as f:
            lines = f.readlines()
        check(lines, f"{rdir}: metric {key} has no data")
        for line in lines:
            parts = line.strip().split(" ")
            check(len(parts) in (2, 3), f"{rdir}: metric {key}: {line!r}")
            int(parts[0]), float(parts[1]), int(parts[2]) if len(parts) == 3 else 0
    for what, limit in (("params", 6000), ("tags", 5000)):
        for key in resource_files(os.path.join(rdir, what)):
            check(valid_name(key), f"{rdir}: {what} name {key!r}")
            with open(os.path.join(rdir, what, key), encoding="utf-8") as f:
                check(len(f.read()) <= limit, f"{rdir}: {what} {key} over {limit} characters")


def main(root):
    check(os.path.isdir(os.path.join(root, ".trash")), "no .trash folder")
    n_exp = n_runs = 0
    names = set()
    for exp_id in sorted(os.listdir(root)):
        edir = os.path.join(root, exp_id)
        if not os.path.isdir(edir) or exp_id in (".trash", "models"):
            continue
        check(EXPERIMENT_ID.match(exp_id), f"bad experiment id {exp_id}")
        meta = read_yaml(os.path.join(edir, "meta.yaml"))
        eid = str(meta["experiment_id"]) if isinstance(meta.get("experiment_id"), int) else meta.get("experiment_id")
        check(eid == exp_id, f"{edir}: experiment_id {eid!r} is not the folder name")
        for k in ("name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time"):
            check(k in meta, f"{edir}/meta.yaml: no {k}")
        check(meta["name"] not in names, f"two experiments named {meta['name']!r}")
        names.add(meta["name"])
        check(local_path(meta["artifact_location"]) == os.path.abspath(edir), f"{edir}: artifact_location")
        n_exp += 1
        for run_id in sorted(os.listdir(edir)):
            if os.path.isdir(os.path.join(edir, run_id)) and run_id not in RESERVED_EXPERIMENT_FOLDERS:
                read_run(edir, exp_id, meta, run_id)
                n_runs += 1
    check("0" in os.listdir(root), "no default experiment 0")
    print(f"{n_exp} experiments, {n_runs} runs")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        main(sys.argv[1])
    except (Bad, ValueError, KeyError, UnicodeDecodeError, yaml.YAMLError) as e:
        print(f"FAIL: {e}")
        sys.exit(1)
