package dev.asyncdiff.api;

import java.util.List;
import java.util.Map;

/**
 * Runs the denoising loop over the components of a denoiser: sequentially, or asynchronously
 * across devices.
 */
public interface ParallelStrategy {
    /** The strategy's name, e.g. {@code sequential} or {@code async}. */
    String name();

    /**
     * Denoises {@code latents} over every timestep {@code scheduler} has prepared.
     *
     * @param components   the denoiser's components in order, each bound to its device
     * @param scheduler    a scheduler with timesteps set
     * @param latents      the initial latents (read only)
     * @param conditioning the conditioning inputs every component may take (read only)
     * @return the final latents; the caller closes them
     */
    Tensor denoise(List<? extends DenoiserComponent> components, NoiseScheduler scheduler,
                   Tensor latents, Map<String, Tensor> conditioning);
}
