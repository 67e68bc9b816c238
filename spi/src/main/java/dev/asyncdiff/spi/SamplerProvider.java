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

    /**
     * The diffusers class ({@code _class_name}) this sampler is the default for: the one built when a
     * model's {@code scheduler_config.json} names that class and no sampler is asked for by name; null
     * when it is the default for none (e.g. a variant that forces Karras sigmas). Where several
     * providers claim a class, the higher {@link #priority()} wins.
     */
    default String defaultForClass() {
        return null;
    }
}
