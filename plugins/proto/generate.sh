#!/bin/sh
# Regenerates the Go code for the keyplane plugin protocol next to its .proto.
#
# Pinned generators (what the committed code was made with):
#   protoc             libprotoc 3.21.12  (Debian 12: apt-get install -y protobuf-compiler)
#   protoc-gen-go      v1.36.12  (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12)
#   protoc-gen-go-grpc v1.6.2    (go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2)
#
# Run from anywhere: sh plugins/proto/generate.sh
set -eu
cd "$(dirname "$0")"
PATH="$(go env GOPATH)/bin:$PATH"
protoc --version
protoc \
	--proto_path=. \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	keyplane/plugin/v1/backend.proto
