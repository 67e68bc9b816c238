/**
 * The {@code tensorrt} backend: one TensorRT engine per split component on a CUDA device, built from the
 * component's ONNX file with an optimization profile derived from its split manifest
 * ({@link dev.asyncdiff.backend.tensorrt.OptimizationProfile}), kept in an
 * {@link dev.asyncdiff.backend.tensorrt.EngineCache} with the GPU's timing cache, and run on device memory:
 * outputs stay on the GPU for the next component. Natives come with the {@code -Ptensorrt} build.
 */
package dev.asyncdiff.backend.tensorrt;
