#!/usr/bin/python3
"""Generates onnx/onnxpb/onnx-ml.pb.go without protoc.

protoc-gen-go reads a CodeGeneratorRequest (the parsed .proto as a FileDescriptorProto) on stdin
and writes a CodeGeneratorResponse. protoc is not needed to build that request: the onnx Python
package (Debian's python3-onnx 1.12) embeds the exact FileDescriptorProto of onnx/onnx-ml.proto
that its own generated code was made from. This script wraps it in a request and runs

    protoc-gen-go (google.golang.org/protobuf/cmd/protoc-gen-go v1.36.12)

Usage (from the repository root):

    go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
    /usr/bin/python3 tools/onnxpb/gen.py ~/go/bin/protoc-gen-go

The onnx-ml variant of the schema is a superset of onnx.proto (same field numbers) and is what
PyTorch's exporter and onnxruntime use.
"""
import subprocess
import sys

import onnx
import onnx.onnx_ml_pb2 as pb
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

plugin = sys.argv[1] if len(sys.argv) > 1 else "protoc-gen-go"
fd = descriptor_pb2.FileDescriptorProto()
pb.DESCRIPTOR.CopyToProto(fd)
fd.options.go_package = "github.com/vgfq/vgfq/onnx/onnxpb;onnxpb"
req = plugin_pb2.CodeGeneratorRequest()
req.file_to_generate.append(fd.name)
req.parameter = "paths=source_relative"
req.proto_file.append(fd)
req.compiler_version.major = 3
req.compiler_version.minor = 21
req.compiler_version.patch = 12
out = subprocess.run([plugin], input=req.SerializeToString(), stdout=subprocess.PIPE, check=True).stdout
resp = plugin_pb2.CodeGeneratorResponse.FromString(out)
if resp.error:
    sys.exit("protoc-gen-go: " + resp.error)
for f in resp.file:
    name = f.name.split("/")[-1]
    with open("onnx/onnxpb/" + name, "w") as w:
        w.write(f.content.replace("// source: " + fd.name,
                                  "// source: " + fd.name + " (python3-onnx " + onnx.__version__ + ", via tools/onnxpb/gen.py)"))
    print("wrote onnx/onnxpb/" + name)
