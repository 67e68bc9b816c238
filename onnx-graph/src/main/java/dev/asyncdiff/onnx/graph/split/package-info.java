/**
 * The graph splitter: cuts a whole exported denoiser into N consecutive components that balance an
 * estimated cost, copy conditioning-only subgraphs into each component that needs them, and pass
 * only latent-path tensors across cuts. {@link dev.asyncdiff.onnx.graph.split.GraphSplitter} is the
 * entry point; {@link dev.asyncdiff.onnx.graph.split.SplitManifest} describes a split on disk.
 */
package dev.asyncdiff.onnx.graph.split;
