/**
 * The diffusers noise schedulers, built from a checkpoint's {@code scheduler/scheduler_config.json}
 * and numerically at parity with diffusers: DDIM, PNDM, DDPM, Euler (with SVD's EDM setup), Euler
 * ancestral, LMS, Heun, DPM-Solver(++) multistep, UniPC, LCM and flow-matching Euler.
 *
 * <p>{@link dev.asyncdiff.samplers.Samplers} picks the implementation by {@code _class_name} or by
 * an override name; every sampler is also a {@link dev.asyncdiff.spi.SamplerProvider} registered
 * with {@link java.util.ServiceLoader}. Samplers are stateful (multistep history, step index) and
 * serve one generation at a time; {@code setTimesteps} starts a new one. They are not thread-safe.
 * Tensors passed in are only read; tensors returned are new FP32 tensors the caller closes.
 */
package dev.asyncdiff.samplers;
