#!/usr/bin/env bash
# check_dockerfile: runs the Dockerfile's steps where no Docker daemon is, and says what it checked.
#   scripts/check_dockerfile.sh [--keep]        (from the repository; --keep leaves the temp folder)
# 1. The instructions: every FROM is debian:bookworm-slim (and this host is Debian 12, so its apt
#    lists are the image's), the last stage has a non-root USER, EXPOSE 8080, a curl HEALTHCHECK on
#    /health, CMD moonlab serve /models --host 0.0.0.0 --port 8080.
# 2. Every RUN step, in order, by what it does (an unknown step is a failure, not a skip):
#    apt-get install  -> `apt-get install --dry-run` of the same packages against an EMPTY dpkg status
#                        (as on a bare image: every dependency must resolve from Debian 12's lists);
#    make ...         -> the same command line in a fresh `git clone` of HEAD (COPY . .), DESTDIR
#                        pointed into the temp folder;
#    useradd          -> the user is simulated: later steps run as `nobody` through setpriv (or runuser).
# 3. COPY --from=build /out/usr/local/ : the installed tree is run from the temp DESTDIR (the binary
#    finds its library from its own location), as nobody: the version, `moonlab help`, a bundle trained
#    and gated with `moonlab eval --assert`; then the CMD itself (/models -> a temp models folder, port
#    8080 -> a free one) with the HEALTHCHECK's curl against it, a POST /predict, SIGTERM -> exit 0.
#    Without cli/serve.lua in the tree (before the serve branch is merged) that last part says SKIPPED.
# Prints one line per check, "N checks passed, M failed"; exits 1 when any failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOCKERFILE="$ROOT/Dockerfile"
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
TMP=$(mktemp -d /tmp/moonlab-docker-check.XXXXXX)
chmod 755 "$TMP"
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  if [ "$KEEP" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "  ok    $*"; }
bad() { fail=$((fail + 1)); echo "  FAIL  $*"; }
step() { echo; echo "== $*"; }

# as the image's non-root user: nobody, through setpriv (or runuser) when we are root
as_user() {
  if [ "$(id -u)" != 0 ]; then "$@"
  elif command -v setpriv >/dev/null; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else runuser -u nobody -- "$@"; fi
}

# ---- the instructions (continuation lines joined) ----
step "instructions of $DOCKERFILE"
[ -f "$DOCKERFILE" ] || { echo "no Dockerfile at $DOCKERFILE"; exit 1; }
mapfile -t INSTR < <(sed -e 's/\r$//' "$DOCKERFILE" | grep -v '^[[:space:]]*#' \
  | awk '{ if (sub(/\\$/, "")) { buf = buf $0 " " } else { print buf $0; buf = "" } }' | sed -e 's/[[:space:]]\+/ /g' | grep -v '^ *$')
echo "  ${#INSTR[@]} instructions"
froms=$(printf '%s\n' "${INSTR[@]}" | grep -c '^FROM ')
if printf '%s\n' "${INSTR[@]}" | grep '^FROM ' | grep -qv '^FROM debian:bookworm-slim\( AS [a-z]*\)\?$'; then
  bad "a FROM other than debian:bookworm-slim"
else ok "$froms stages, all FROM debian:bookworm-slim"; fi
if grep -q '^VERSION_ID="12"' /etc/os-release 2>/dev/null; then ok "this host is Debian 12: its apt lists are the image's"
else bad "this host is not Debian 12: apt dry runs would check other package versions"; fi
last_stage=$(printf '%s\n' "${INSTR[@]}" | awk '/^FROM /{s=""} {s = s $0 "\n"} END {printf "%s", s}')
user=$(printf '%s' "$last_stage" | awk '/^USER /{u=$2} END{print u}')
if [ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ]; then ok "the last stage runs as USER $user (non-root)"
else bad "the last stage has no non-root USER"; fi
printf '%s' "$last_stage" | grep -q '^EXPOSE 8080$' && ok "EXPOSE 8080" || bad "no EXPOSE 8080"
health=$(printf '%s' "$last_stage" | grep '^HEALTHCHECK ' | sed -e 's/^HEALTHCHECK .*CMD //')
if printf '%s' "$health" | grep -q 'curl .*/health'; then ok "HEALTHCHECK: $health"; else bad "no curl HEALTHCHECK on /health"; fi
cmd_json=$(printf '%s' "$last_stage" | grep '^CMD ' | sed -e 's/^CMD //')
cmd_words=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])))' "$cmd_json" 2>/dev/null)
if [ "$cmd_words" = "moonlab serve /models --host 0.0.0.0 --port 8080" ]; then ok "CMD $cmd_words"
else bad "CMD is '$cmd_words', expected 'moonlab serve /models --host 0.0.0.0 --port 8080'"; fi

# ---- the clean clone: what COPY . . copies ----
step "a clean clone of HEAD (COPY . .)"
SRC="$TMP/src"
HEAD_SHA=$(git -C "$ROOT" rev-parse HEAD)
if git clone -q --no-checkout "$ROOT" "$SRC" && git -C "$SRC" checkout -q "$HEAD_SHA"; then
  ok "cloned $HEAD_SHA into $SRC"
  [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] && echo "  note  the working tree has uncommitted changes; the clone checks HEAD"
else bad "git clone failed"; exit 1; fi
chmod -R a+rX "$SRC"

# ---- the RUN steps, in order ----
step "RUN steps"
: > "$TMP/empty-status"
OUT="$TMP/out"
stage=0; user_made=""
for line in "${INSTR[@]}"; do
  case "$line" in
    FROM*) stage=$((stage + 1)); echo "  -- stage $stage: $line"; continue ;;
    RUN*) ;;
    *) continue ;;
  esac
  run=${line#RUN }
  checked=0
  if printf '%s' "$run" | grep -q '^apt-get update && \(DEBIAN_FRONTEND=noninteractive \)\?apt-get install'; then
    pkgs=$(printf '%s' "$run" | sed -e 's/.*apt-get install//' -e 's/&&.*//' | tr ' ' '\n' | grep -v '^-' | grep -v '^$' | tr '\n' ' ')
    if apt-get install --dry-run --no-install-recommends -o Dir::State::status="$TMP/empty-status" $pkgs > "$TMP/apt.log" 2>&1; then
      ok "apt-get install --dry-run from a bare system: $(grep -c '^Inst' "$TMP/apt.log") packages for: $pkgs"
    else bad "apt-get install --dry-run $pkgs:"; tail -5 "$TMP/apt.log" | sed 's/^/        /'; fi
    checked=1
  fi
  # a build step is run for real, so it must be nothing but make commands joined by && (never a
  # step that touches the system: those are only ever dry-run or simulated here)
  if [ "$checked" = 0 ] && printf '%s' "$run" | grep -q '^make '; then
    only_make=1
    while IFS= read -r part; do
      part=$(printf '%s' "$part" | sed -e 's/^ *//' -e 's/ *$//')
      case "$part" in make\ *|make) ;; *) only_make=0 ;; esac
    done < <(printf '%s' "$run" | sed -e 's/&&/\n/g')
    if [ "$only_make" = 1 ]; then
      cmdline=$(printf '%s' "$run" | sed -e "s#DESTDIR=/out#DESTDIR=$OUT#g")
      echo "  ..    ($SRC) $cmdline"
      start=$(date +%s)
      if (cd "$SRC" && bash -c "$cmdline") > "$TMP/make.log" 2>&1; then
        ok "build and install ($(( $(date +%s) - start )) s): $run"
      else bad "$run:"; tail -15 "$TMP/make.log" | sed 's/^/        /'; fi
    else bad "a build step with more than make commands (not run): $run"; fi
    checked=1
  fi
  if [ "$checked" = 0 ] && printf '%s' "$run" | grep -q '^useradd '; then
    user_made=$(printf '%s' "$run" | awk '{print $NF}')
    if [ "$user_made" = "$user" ]; then ok "useradd $user_made (simulated: later steps run as nobody, uid $(id -u nobody))"
    else bad "useradd makes '$user_made' but USER is '$user'"; fi
    checked=1
  fi
  [ "$checked" = 1 ] || bad "a RUN step this script does not know how to check: $run"
done

# ---- the installed tree, as the non-root user ----
step "the installed tree (COPY --from=build /out/usr/local/ /usr/local/), as nobody"
BIN="$OUT/usr/local/bin/moonlab"
chmod -R a+rX "$OUT" 2>/dev/null
if [ -x "$BIN" ]; then ok "installed $BIN"; else bad "no $BIN after make install"; exit 1; fi
for f in lib/moonlab/moonlab.so share/moonlab/lualib/moonlab/serve/bundle.lua share/moonlab/lualib/moonlab/cli/eval.lua; do
  [ -e "$OUT/usr/local/$f" ] && ok "installed $f" || bad "missing /usr/local/$f"
done
v=$(cd "$TMP" && as_user "$BIN" -e 'print(ml.version)' 2>&1) && ok "moonlab -e runs as nobody: version $v" || bad "moonlab -e as nobody: $v"
h=$(cd "$TMP" && as_user "$BIN" help 2>&1) && ok "moonlab help lists $(printf '%s\n' "$h" | grep -c '^  [a-z]') subcommands" || bad "moonlab help: $h"
MODELS="$TMP/models"
mkdir -p "$MODELS/iris/1" && chmod -R 777 "$MODELS"
cat > "$TMP/train.lua" <<'LUA'
local df = ml.data.load_iris()
local X = df:select{ "sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)" }
local pipe = ml.prep.Pipeline{ ml.prep.StandardScaler(), ml.models.LogisticRegression() }:fit(X, df:column("target"))
ml.serve.bundle.save(arg[1], { model = pipe, train = X, y = df:column("target"), name = "iris" })
LUA
chmod 644 "$TMP/train.lua"
t=$(cd "$TMP" && as_user "$BIN" "$TMP/train.lua" "$MODELS/iris/1/model.safetensors" 2>&1) && ok "trained and saved a bundle as nobody" || bad "training as nobody: $t"
e=$(cd "$TMP" && as_user "$BIN" eval "$MODELS/iris/1/model.safetensors" iris --metric accuracy --assert ">=0.9" 2>&1)
[ $? = 0 ] && ok "moonlab eval --assert passes: $(printf '%s' "$e" | grep accuracy | tr -s ' ')" || bad "moonlab eval: $e"
(cd "$TMP" && as_user "$BIN" eval "$MODELS/iris/1/model.safetensors" iris --assert ">=0.999" >/dev/null 2>&1)
[ $? = 1 ] && ok "moonlab eval exits 1 when the gate fails" || bad "moonlab eval did not exit 1 on a failed gate"

# ---- the CMD and the HEALTHCHECK ----
step "CMD and HEALTHCHECK"
if [ ! -f "$OUT/usr/local/share/moonlab/lualib/moonlab/cli/serve.lua" ]; then
  echo "  SKIPPED  moonlab serve is not in this tree yet (branch serve); CMD and HEALTHCHECK not run"
else
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cmd=$(printf '%s' "$cmd_words" | sed -e "s#^moonlab #$BIN #" -e "s# /models # $MODELS #" -e "s#--port 8080#--port $port#")
  echo "  ..    as nobody: $cmd"
  (cd "$TMP" && exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- $cmd) > "$TMP/serve.log" 2>&1 &
  SERVER_PID=$!
  hc=$(printf '%s' "$health" | sed -e "s#8080#$port#g")
  healthy=0
  for _ in $(seq 1 100); do
    if bash -c "$hc" >/dev/null 2>&1; then healthy=1; break; fi
    sleep 0.1
  done
  [ "$healthy" = 1 ] && ok "HEALTHCHECK passes: $hc" || { bad "HEALTHCHECK never passed: $hc"; tail -5 "$TMP/serve.log" | sed 's/^/        /'; }
  body='{"instances": [{"sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4, "petal width (cm)": 0.2}]}'
  r=$(curl -fsS -X POST -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/predict" 2>&1)
  printf '%s' "$r" | grep -q '"predictions"' && ok "POST /predict (named fields) -> $r" || bad "POST /predict: $r"
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID"; code=$?
  SERVER_PID=
  [ "$code" = 0 ] && ok "SIGTERM: the server exits 0" || bad "SIGTERM: exit $code"
fi

echo
echo "$pass checks passed, $fail failed"
[ "$fail" = 0 ]
