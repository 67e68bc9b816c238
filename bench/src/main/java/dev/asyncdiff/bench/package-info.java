/**
 * Benchmarks: {@link dev.asyncdiff.bench.DenoiseBenchmark} times the denoising loop of several
 * strategy configurations side by side in one run (the {@code asyncdiff bench} command), and
 * {@link dev.asyncdiff.bench.StepBenchmark} is the JMH view of one denoising step.
 */
package dev.asyncdiff.bench;
