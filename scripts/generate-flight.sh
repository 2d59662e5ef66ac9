#!/usr/bin/env bash
# Regenerates Shared/FlightProtocol/Generated from Shared/FlightProtocol/Proto/Flight.proto.
# Needs Debian's protoc (protobuf-compiler) and the two plugins, built from a checkout of
# grpc-swift-protobuf 2.4.1 (it pins swift-protobuf):
#   git clone https://github.com/grpc/grpc-swift-protobuf && cd grpc-swift-protobuf && git checkout 2.4.1
#   swift build -c release --product protoc-gen-grpc-swift-2 && swift build -c release --product protoc-gen-swift
#   PLUGINS=$PWD/.build/release scripts/generate-flight.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PLUGINS:?set PLUGINS to the folder holding protoc-gen-swift and protoc-gen-grpc-swift-2}"
out=Shared/FlightProtocol/Generated
mkdir -p "$out"
protoc -I Shared/FlightProtocol/Proto -I /usr/include \
    --plugin=protoc-gen-swift="$PLUGINS/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift-2="$PLUGINS/protoc-gen-grpc-swift-2" \
    --swift_out="$out" --swift_opt=Visibility=Public \
    --grpc-swift-2_out="$out" --grpc-swift-2_opt=Visibility=Public,Client=true,Server=true \
    Shared/FlightProtocol/Proto/Flight.proto
echo "generated: $(ls "$out")"
