/**
 * Reading, writing and building ONNX models over the ONNX protobuf schema, external data included.
 *
 * <p>{@link dev.asyncdiff.onnx.graph.OnnxModel} reads a model and resolves its initializers, inline or
 * in an external data file; {@link dev.asyncdiff.onnx.graph.GraphBuilder} assembles a graph whose
 * node names follow a torch export; {@link dev.asyncdiff.onnx.graph.OnnxWriter} writes a model,
 * streaming large initializers to a data file beside it so that no second copy is held in memory.
 */
package dev.asyncdiff.onnx.graph;
