# moonlab model server: builds moonlab on Debian 12 and serves the models in the
# volume /models (a bundle or model file, a versions directory NAME/1, NAME/2 ...,
# or a directory of those) on port 8080 as a non-root user.
#   docker build -t moonlab .
#   docker run -p 8080:8080 -v "$PWD/models:/models:ro" moonlab
#   docker run --rm -v "$PWD/models:/models:ro" moonlab moonlab eval /models/fashion/3/model.safetensors fashion-mnist:test
# Without a Docker daemon, scripts/check_dockerfile.sh runs these steps in a clean clone.

# ---- build stage: compilers and -dev packages, make, make install into /out ----
FROM debian:bookworm-slim AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      make gcc libc6-dev liblua5.4-dev lua5.4 lua-filesystem libopenblas-openmp-dev libdnnl-dev libsleef-dev \
      libreadline-dev zlib1g-dev libpng-dev libmicrohttpd-dev libcairo2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" && make install PREFIX=/usr/local DESTDIR=/out

# ---- run stage: the shared libraries only, the installed tree, a non-root user ----
FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      liblua5.4-0 lua-filesystem libopenblas0-openmp libdnnl2 libsleef3 libreadline8 zlib1g libpng16-16 \
      libmicrohttpd12 libcairo2 libgomp1 curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/local/ /usr/local/
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin moonlab
USER moonlab
WORKDIR /tmp
VOLUME /models
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 CMD curl -fsS http://127.0.0.1:8080/health || exit 1
CMD ["moonlab", "serve", "/models", "--host", "0.0.0.0", "--port", "8080"]
