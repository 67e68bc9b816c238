package dev.asyncdiff.spi;

import dev.asyncdiff.api.NoiseScheduler;

/** Discovers a noise scheduler (sampler) that is built from a diffusers {@code scheduler_config.json}. */
public interface SamplerProvider extends Provider {
    /**
     * A fresh scheduler configured from {@code schedulerConfigJson}; keys it does not use are ignored.
     *
     * @throws IllegalArgumentException naming the key when a value is out of range
     */
    NoiseScheduler create(String schedulerConfigJson);
}
