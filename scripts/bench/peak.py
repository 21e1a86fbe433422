"""Peak resident memory of the measured part of a benchmark, taken the same way
as scripts/bench/peak.lua on the moonlab side: start() after imports, data and
model notes the high-water mark so far, resets the kernel's (writing 5 to
/proc/self/clear_refs) and reads VmRSS as the base; finish() -> (whole
process's peak MiB, working set MiB = peak since start() - base)."""
import gc

_state = {"before": 0.0, "base": 0.0, "reset": False}


def _status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def start():
    gc.collect()
    _state["before"] = _status("VmHWM")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        _state["reset"] = True
    except OSError:
        _state["reset"] = False
    _state["base"] = _status("VmRSS")


def finish():
    hwm = _status("VmHWM")
    return max(_state["before"], hwm), hwm - _state["base"]
