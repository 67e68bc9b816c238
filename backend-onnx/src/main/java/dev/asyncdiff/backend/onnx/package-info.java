/**
 * The {@code onnx} backend: ONNX Runtime sessions bound to {@code cpu:N} or {@code cuda:N}
 * devices, discovered through {@link dev.asyncdiff.backend.onnx.OnnxBackendProvider}.
 *
 * <p>{@link dev.asyncdiff.backend.onnx.OnnxBackend} loads {@code .onnx} files (with external data
 * beside them) into {@link dev.asyncdiff.backend.onnx.OnnxSession}s, which probe each input's
 * declared dtype and rank and convert what callers pass (fp32/fp16/bf16, int32/int64, a scalar
 * versus a {@code [batch]} vector). Inputs already in the declared dtype are handed to ONNX Runtime
 * without copying; outputs are written straight into new tensors where their shape is known.
 *
 * <p>Native code loads only when a backend is opened. Whoever opens a backend or loads a session
 * closes it.
 */
package dev.asyncdiff.backend.onnx;
