# runbook in a container, for `runbook job` (a run inside the cluster).
#
# Build stage: the Swift toolchain and the -dev packages of the C libraries runbook links
# (libyaml, libcurl, libpq, zlib, OpenSSL's libcrypto).
FROM swift:6.0-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libyaml-dev libcurl4-openssl-dev libpq-dev zlib1g-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift Package.resolved* ./
RUN swift package resolve
COPY Sources Sources
RUN swift build -c release --product runbook --static-swift-stdlib \
 && install -D "$(swift build -c release --show-bin-path)/runbook" /out/runbook

# Runtime stage: slim Debian with only the shared libraries (and CA certificates for HTTPS).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libyaml-0-2 libcurl4 libpq5 zlib1g libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/runbook /usr/local/bin/runbook
# The Job mounts the runbook at /runbook, an emptyDir at /state, and the service account's token.
USER 65532:65532
WORKDIR /state
ENTRYPOINT ["/usr/local/bin/runbook"]
CMD ["--help"]
